"""The printable oral schedule: week by week, one line per day, a tick box per dose time.

Built from a stored version's ``plan_json`` (never recomputed), in the document's language.
Every day line carries each dose with its unit and what to take; the first day of a new step
is marked with the new daily dose and whether it goes up or down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from babel.support import Translations

from app.printing.doses import concentration_text, dose_text, per_day_text, take_text
from app.printing.i18n import N_, translations
from app.printing.numbers import format_day, format_long_date, format_quantity

DOSE_TIMES = ("morning", "midday", "evening", "night")
TIME_LABELS = {
    "morning": N_("Morning"),
    "midday": N_("Midday"),
    "evening": N_("Evening"),
    "night": N_("Night"),
}
DAYS_PER_WEEK = 7


@dataclass(frozen=True, slots=True)
class DoseCell:
    dose: str  # "5 mg"
    take: str  # "1 tablet of 5 mg"; for a solution "= 5 mg (1 mg/mL solution)"
    # What the carer measures, printed first and large: "5 mL" for an oral solution.
    measure: str = ""


@dataclass(frozen=True, slots=True)
class DoseChange:
    text: str  # "New dose from today: 30 mg a day"
    direction: str  # "up" | "down"
    word: str  # "higher" | "lower", translated


@dataclass(frozen=True, slots=True)
class DayLine:
    day: int
    date: date
    day_label: str  # "Day 3"
    date_text: str  # "Thu, Dec 3"
    cells: tuple[DoseCell | None, ...]  # one per column in OralSchedule.times
    total: str  # "15 mg", or "" on the day the taper stops
    change: DoseChange | None
    stop: bool = False
    per_kg: str = ""  # children, first day of a step: "0,45 mg/kg" (A.6.11)


@dataclass(frozen=True, slots=True)
class Week:
    number: int
    title: str  # "Week 2"
    dates: str  # "Dec 8, 2026 – Dec 14, 2026"
    days: tuple[DayLine, ...]

    @property
    def same_every_day(self) -> bool:
        """Every day of the week has the same doses (a new dose may start on its first day):
        printed compactly, one row per dose time with a tick box for each day."""
        first = self.days[0]
        return len(self.days) > 1 and all(
            not line.stop and line.cells == first.cells and (line is first or line.change is None)
            for line in self.days
        )


@dataclass(frozen=True, slots=True)
class OralSchedule:
    times: tuple[str, ...]  # translated column headings
    weeks: tuple[Week, ...]
    medicines: tuple[str, ...]  # what the pharmacy supplies, e.g. "baclofen 10 mg tablets"
    uses_solution: bool
    solution_strengths: tuple[str, ...]  # "1 mg/mL"
    first_date: str
    last_dose_date: str
    last_daily_dose: str  # "60 mg a day"
    review_date: str | None
    stop_date: str | None
    counts_change: bool = False  # the number of doses a day differs between steps (A.6.1)

    @property
    def doses(self) -> tuple[str, ...]:
        """Every dose text printed, for checks that none lost its unit."""
        return tuple(
            text
            for week in self.weeks
            for line in week.days
            for cell in line.cells
            if cell is not None
            for text in (cell.dose, cell.take)
        )


def build_oral_schedule(plain: dict[str, Any], language: str) -> OralSchedule:
    """The schedule of a stored oral plan (titration or taper) in `language`."""
    t = translations(language)
    steps = plain["steps"]
    times = tuple(
        key
        for key in DOSE_TIMES
        if any(a["time_of_day"] == key for s in steps for a in s["administrations"])
    )
    lines = [line for step in steps for line in _step_lines(step, steps, times, language, t)]
    stop = _milestone(plain, "stop")
    if stop is not None:
        lines.append(_stop_line(stop, len(times), language, t))
    review = _milestone(plain, "review")
    last = steps[-1]
    return OralSchedule(
        times=tuple(t.gettext(TIME_LABELS[key]) for key in times),
        weeks=_weeks(lines, language, t),
        medicines=_medicines(steps, language, t),
        uses_solution=any(_forms(steps, "oral_solution")),
        solution_strengths=tuple(
            dict.fromkeys(
                concentration_text(p["concentration"], language)
                for p in _forms(steps, "oral_solution")
            )
        ),
        first_date=format_long_date(date.fromisoformat(steps[0]["start_date"]), language),
        last_dose_date=format_long_date(date.fromisoformat(last["end_date"]), language),
        last_daily_dose=per_day_text(last["daily_dose"], language, t),
        review_date=_date_text(review, language),
        stop_date=_date_text(stop, language),
        counts_change=len({len(step["administrations"]) for step in steps}) > 1,
    )


def _step_lines(
    step: dict[str, Any],
    steps: list[dict[str, Any]],
    times: tuple[str, ...],
    language: str,
    t: Translations,
) -> list[DayLine]:
    by_time = {a["time_of_day"]: a for a in step["administrations"]}
    cells = tuple(_cell(by_time[k], language, t) if k in by_time else None for k in times)
    change = _change(step, steps, language, t)
    start = date.fromisoformat(step["start_date"])
    total = dose_text(step["daily_dose"], language)
    per_kg = step.get("mg_per_kg_day")
    per_kg_text = "" if per_kg is None else format_quantity(Decimal(per_kg), "mg/kg", language)
    return [
        DayLine(
            day=day,
            date=start + timedelta(days=day - step["start_day"]),
            day_label=t.gettext("Day %(day)s") % {"day": day},
            date_text=format_day(start + timedelta(days=day - step["start_day"]), language),
            cells=cells,
            total=total,
            change=change if day == step["start_day"] else None,
            per_kg=per_kg_text if day == step["start_day"] else "",
        )
        for day in range(step["start_day"], step["end_day"] + 1)
    ]


def _cell(admin: dict[str, Any], language: str, t: Translations) -> DoseCell:
    dose = dose_text(admin["dose"], language)
    prep = admin.get("preparation") or {}
    if prep.get("form") != "oral_solution":
        return DoseCell(dose, take_text(admin, language, t))
    note = t.gettext("= %(dose)s (%(concentration)s solution)") % {
        "dose": dose,
        "concentration": concentration_text(prep["concentration"], language),
    }
    return DoseCell(dose, note, format_quantity(Decimal(prep["volume_ml"]), "mL", language))


def _change(
    step: dict[str, Any], steps: list[dict[str, Any]], language: str, t: Translations
) -> DoseChange | None:
    position = steps.index(step)
    if position == 0:
        return None
    before = Decimal(steps[position - 1]["daily_dose"]["value"])
    now = Decimal(step["daily_dose"]["value"])
    up = now > before
    return DoseChange(
        text=t.gettext("New dose from today: %(dose)s")
        % {"dose": per_day_text(step["daily_dose"], language, t)},
        direction="up" if up else "down",
        word=t.gettext("higher") if up else t.gettext("lower"),
    )


def _stop_line(milestone: dict[str, Any], columns: int, language: str, t: Translations) -> DayLine:
    day = date.fromisoformat(milestone["date"])
    return DayLine(
        day=milestone["day"],
        date=day,
        day_label=t.gettext("Day %(day)s") % {"day": milestone["day"]},
        date_text=format_day(day, language),
        cells=(None,) * columns,
        total="",
        change=None,
        stop=True,
    )


def _weeks(lines: list[DayLine], language: str, t: Translations) -> tuple[Week, ...]:
    weeks: dict[int, list[DayLine]] = {}
    for line in lines:
        weeks.setdefault((line.day - 1) // DAYS_PER_WEEK + 1, []).append(line)
    return tuple(
        Week(
            number=number,
            title=t.gettext("Week %(number)s") % {"number": number},
            dates=f"{format_long_date(days[0].date, language)} – "
            f"{format_long_date(days[-1].date, language)}",
            days=tuple(days),
        )
        for number, days in sorted(weeks.items())
    )


def _forms(steps: list[dict[str, Any]], form: str) -> list[dict[str, Any]]:
    return [
        a["preparation"]
        for s in steps
        for a in s["administrations"]
        if a.get("preparation") and a["preparation"]["form"] == form
    ]


def _medicines(steps: list[dict[str, Any]], language: str, t: Translations) -> tuple[str, ...]:
    strengths = sorted(
        {(Decimal(p["tablet_strength"]["value"]), p["tablet_strength"]["unit"])
         for p in _forms(steps, "tablet")}
    )  # fmt: skip
    names = [
        t.gettext("baclofen %(strength)s tablets")
        % {"strength": dose_text({"value": str(value), "unit": unit}, language)}
        for value, unit in strengths
    ]
    names += [
        t.gettext("baclofen oral solution %(concentration)s") % {"concentration": c}
        for c in dict.fromkeys(
            concentration_text(p["concentration"], language) for p in _forms(steps, "oral_solution")
        )
    ]
    return tuple(names)


def _milestone(plain: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((m for m in plain["milestones"] if m["kind"] == kind), None)


def _date_text(milestone: dict[str, Any] | None, language: str) -> str | None:
    if milestone is None:
        return None
    return format_long_date(date.fromisoformat(milestone["date"]), language)
