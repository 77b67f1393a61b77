"""A stored plan as the exports need it: steps, dose groups and milestones, with their wording.

Read from the stored canonical ``plan_json`` (decimals as strings), so an export shows
exactly the saved doses. Numbers follow ISMP ("5", "0.5"; never "5.0" or ".5") and every
dose carries its unit: oral plans mg only, intrathecal plans mcg only — a stored plan that
breaks this is refused rather than exported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain.json_numbers import json_number as json_number
from app.domain.titration.units import plain_number

_FRACTIONS = {Decimal("0.25"): "¼", Decimal("0.5"): "½", Decimal("0.75"): "¾"}
_UNIT_OF_ROUTE = {"oral": "mg", "intrathecal": "mcg"}
_TIME_PHRASES = {
    "morning": "in the morning",
    "midday": "at midday",
    "evening": "in the evening",
    "night": "at night",
}
PLAN_TYPE_LABELS = {
    "oral_titration": "oral titration",
    "oral_taper": "oral taper",
    "itb_screening": "intrathecal screening",
    "itb_titration": "intrathecal titration",
}


@dataclass(frozen=True, slots=True)
class Dose:
    value: Decimal
    unit: str  # "mg" | "mcg"

    @property
    def text(self) -> str:
        return f"{plain_number(self.value)} {self.unit}"


@dataclass(frozen=True, slots=True)
class Administration:
    time_of_day: str  # morning | midday | evening | night | bolus | continuous
    dose: Dose
    take: str  # "1 tablet of 10 mg", "1.3 mL of 1 mg/mL oral solution", "" for a pump


@dataclass(frozen=True, slots=True)
class DoseGroup:
    """The administrations of one step that share a dose and what to take for it."""

    times: tuple[str, ...]
    dose: Dose
    take: str


@dataclass(frozen=True, slots=True)
class Step:
    index: int
    start: date
    end: date
    daily: Dose
    administrations: tuple[Administration, ...]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def groups(self) -> tuple[DoseGroup, ...]:
        """Uneven steps (15 mg morning, 10 mg midday) give one group per distinct dose."""
        grouped: dict[tuple[Dose, str], list[str]] = {}
        for admin in self.administrations:
            grouped.setdefault((admin.dose, admin.take), []).append(admin.time_of_day)
        return tuple(DoseGroup(tuple(times), dose, take) for (dose, take), times in grouped.items())


@dataclass(frozen=True, slots=True)
class Milestone:
    day: int
    on: date
    kind: str  # review | stop | reevaluation
    text: str


@dataclass(frozen=True, slots=True)
class Supply:
    """One dispense line: whole tablets of one strength, or mL of one solution."""

    product: str  # "Baclofen 20 mg tablet"
    quantity: Decimal
    unit: str  # "tablet" | "mL"


@dataclass(frozen=True, slots=True)
class ExportPlan:
    plan_type: str
    route: str  # oral | intrathecal
    unit: str  # mg | mcg
    protocol: str  # "oral-adult version 1"
    engine_version: str
    steps: tuple[Step, ...]
    milestones: tuple[Milestone, ...]
    supplies: tuple[Supply, ...]

    @property
    def is_intrathecal(self) -> bool:
        return self.route == "intrathecal"

    @property
    def label(self) -> str:
        return PLAN_TYPE_LABELS.get(self.plan_type, self.plan_type.replace("_", " "))


def read_plan(plan_json: str) -> ExportPlan:
    plain: dict[str, Any] = json.loads(plan_json)
    unit = _UNIT_OF_ROUTE[plain["route"]]
    if plain["unit"] != unit:
        raise ValueError(f"a {plain['route']} plan must be in {unit}, not {plain['unit']}")
    protocol = plain["protocol"]
    return ExportPlan(
        plan_type=plain["plan_type"],
        route=plain["route"],
        unit=unit,
        protocol=f"{protocol['id']} version {protocol['version']}",
        engine_version=plain["engine_version"],
        steps=tuple(_step(step, unit) for step in plain["steps"]),
        milestones=tuple(
            Milestone(m["day"], date.fromisoformat(m["date"]), m["kind"], m["text"])
            for m in plain["milestones"]
        ),
        supplies=tuple(_supply(line) for line in plain["dispense"]),
    )


def _dose(raw: dict[str, str], unit: str) -> Dose:
    if raw["unit"] != unit:  # never converted: a dose in the other unit is a broken plan
        raise ValueError(f"dose in {raw['unit']} in a plan in {unit}")
    return Dose(Decimal(raw["value"]).normalize(), unit)


def _step(raw: dict[str, Any], unit: str) -> Step:
    admins = tuple(
        Administration(a["time_of_day"], _dose(a["dose"], unit), take_text(a.get("preparation")))
        for a in raw["administrations"]
    )
    return Step(
        index=raw["index"],
        start=date.fromisoformat(raw["start_date"]),
        end=date.fromisoformat(raw["end_date"]),
        daily=_dose(raw["daily_dose"], unit),
        administrations=admins,
    )


def _supply(raw: dict[str, Any]) -> Supply:
    quantity = Decimal(raw["quantity"]).normalize()
    if raw["form"] == "tablet":
        strength = raw["tablet_strength"]
        product = f"Baclofen {plain_number(Decimal(strength['value']))} {strength['unit']} tablet"
        return Supply(product, quantity, "tablet")
    return Supply(f"Baclofen {_solution(raw['form'], raw['concentration'])}", quantity, "mL")


def take_text(preparation: dict[str, Any] | None) -> str:
    """What to take or give for one dose; '' when a pump delivers it."""
    if preparation is None:
        return ""
    if preparation["form"] == "tablet":
        strength = preparation["tablet_strength"]
        tablets = tablets_text(Decimal(preparation["tablets"]))
        return f"{tablets} of {plain_number(Decimal(strength['value']))} {strength['unit']}"
    volume = plain_number(Decimal(preparation["volume_ml"]))
    return f"{volume} mL of {_solution(preparation['form'], preparation['concentration'])}"


def _solution(form: str, concentration: dict[str, str]) -> str:
    kind = "oral solution" if form == "oral_solution" else "intrathecal solution"
    return f"{plain_number(Decimal(concentration['value']))} {concentration['unit']}/mL {kind}"


def tablets_text(count: Decimal) -> str:
    """'1 tablet', '½ tablet', '1½ tablets', '2 tablets' (never '0.5' or '1/2')."""
    whole, part = divmod(count, 1)
    symbol = _FRACTIONS.get(part)
    if part == 0:
        number = plain_number(whole)
    elif symbol is None:
        number = plain_number(count)
    else:
        number = symbol if whole == 0 else f"{plain_number(whole)}{symbol}"
    return f"{number} tablet{'' if count <= 1 else 's'}"


def times_text(times: tuple[str, ...]) -> str:
    """'in the morning, at midday and in the evening'."""
    phrases = [_TIME_PHRASES[t] for t in times]
    return phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} and {phrases[-1]}"


def date_range_text(start: date, end: date) -> str:
    """'1 Dec 2026', '22 Nov – 28 Nov 2026', '28 Dec 2026 – 3 Jan 2027'."""
    last = f"{end.day} {end:%b %Y}"
    if start == end:
        return last
    first = f"{start.day} {start:%b}" if start.year == end.year else f"{start.day} {start:%b %Y}"
    return f"{first} – {last}"


def instruction_text(step: Step, group: DoseGroup) -> str:
    """One dosage instruction in words, e.g. 'Take 1 tablet of 10 mg (10 mg) in the morning
    and in the evening, 22 Nov – 28 Nov 2026'."""
    dates = date_range_text(step.start, step.end)
    if group.times == ("continuous",):
        return (
            f"Give {group.dose.text}/day by continuous intrathecal infusion "
            f"(implanted pump), {dates}"
        )
    if group.times == ("bolus",):
        return f"Give {group.dose.text} as an intrathecal bolus ({group.take}), {dates}"
    return f"Take {group.take} ({group.dose.text}) {times_text(group.times)}, {dates}"


def step_instruction_text(step: Step) -> str:
    """A whole step in words: one group reads as `instruction_text`; uneven doses name each
    dose time's dose, e.g. 'Take 3 tablets of 5 mg (15 mg) in the morning and in the evening;
    2 tablets of 5 mg (10 mg) at midday, 6 Dec – 10 Dec 2026'."""
    groups = step.groups()
    if len(groups) == 1:
        return instruction_text(step, groups[0])
    doses = "; ".join(f"{g.take} ({g.dose.text}) {times_text(g.times)}" for g in groups)
    return f"Take {doses}, {date_range_text(step.start, step.end)}"
