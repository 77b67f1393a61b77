"""What the plan pages show, formatted: schedule rows, limits, findings, history and diffs.

Every view is built from the plain form of a plan (``to_plain(plan)`` for a preview, the
stored ``plan_json`` for a saved version), so a preview and a saved plan render from one
source. Every dose leaves here as text with its unit, ISMP style ("5 mg", "0.5 mL").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from app.db.models import PlanRecord, PlanVersionRecord
from app.domain.titration import Plan
from app.printing.doses import tablet_count
from app.services.plan_codec import to_plain
from app.web.plan_chart import Chart, build_chart
from app.web.templating import format_decimal

PLAN_TYPE_LABELS = {
    "oral_titration": "Oral titration",
    "oral_taper": "Oral taper",
    "itb_screening": "Intrathecal screening",
    "itb_titration": "Intrathecal titration",
}
TIME_LABELS = {
    "morning": "Morning", "midday": "Midday", "evening": "Evening", "night": "Night",
    "bolus": "Bolus (lumbar puncture)", "continuous": "Continuous (pump)",
}  # fmt: skip
SEVERITY_ORDER = {"block": 0, "major": 1, "moderate": 2, "info": 3}
_BASIS = {"total": "total body weight", "adjusted": "adjusted body weight",
          "ideal": "ideal body weight", "none": "no weight"}  # fmt: skip
_METHOD = {"cockcroft_gault": "Cockcroft–Gault", "entered": "entered",
           "bedside_schwartz": "bedside Schwartz, child", "none": "not known"}  # fmt: skip


def format_dose(dose: dict[str, str] | None, *, per_day: bool = False) -> str:
    """'5 mg', '0.5 mg', '100 mcg/day'; '' when there is no dose."""
    if not dose:
        return ""
    return f"{format_decimal(Decimal(dose['value']))} {dose['unit']}{'/day' if per_day else ''}"


def format_tablets(count: Decimal) -> str:
    """Tablet counts as a clinician writes them: 1, ½, 1½ (never '1/2' or '0.5')."""
    return tablet_count(count, "en")


def take_text(admin: dict[str, Any]) -> str:
    """What to take or give: '1 × 10 mg tablet', '5 mL of 1 mg/mL = 5 mg'."""
    prep = admin.get("preparation")
    if prep is None:
        return "by implanted pump" if admin["time_of_day"] == "continuous" else ""
    if prep["form"] == "tablet":
        count = Decimal(prep["tablets"])
        plural = "s" if count > 1 else ""
        return f"{format_tablets(count)} × {format_dose(prep['tablet_strength'])} tablet{plural}"
    conc = prep["concentration"]
    return (
        f"{format_decimal(Decimal(prep['volume_ml']))} mL of "
        f"{format_decimal(Decimal(conc['value']))} {conc['unit']}/mL = {format_dose(admin['dose'])}"
    )


@dataclass(frozen=True)
class AdminRow:
    time: str
    dose: str
    take: str


@dataclass(frozen=True)
class StepRow:
    index: int
    weeks: str
    days: str
    dates: str
    daily: str
    administrations: tuple[AdminRow, ...]
    per_kg: str = ""  # children: "0.29 mg/kg/day"


@dataclass(frozen=True)
class FindingView:
    code: str
    severity: str
    overridable: bool
    rule: str
    message: str
    source: str


@dataclass(frozen=True)
class PlanView:
    """One plan, ready to render; `is_itb` switches the intrathecal heading and colour band."""

    plan_type: str
    label: str
    is_itb: bool
    unit: str
    status: str
    steps: tuple[StepRow, ...]
    limits: tuple[tuple[str, str], ...]
    findings: tuple[FindingView, ...]
    overrides: tuple[tuple[str, str], ...]
    milestones: tuple[tuple[str, str], ...]
    dispense: tuple[str, ...]
    chart: Chart | None
    engine_version: str
    daily_doses: tuple[tuple[date, date, dict[str, str]], ...] = field(default=())
    # Every protocol version the engine read (issue 17): (id, version, sha256), main one first.
    protocols: tuple[tuple[str, str, str], ...] = field(default=())

    @property
    def blocks(self) -> tuple[FindingView, ...]:
        return tuple(f for f in self.findings if f.severity == "block")

    @property
    def majors(self) -> tuple[FindingView, ...]:
        return tuple(f for f in self.findings if f.severity == "major")

    def dose_on(self, day: date) -> dict[str, str] | None:
        """The daily dose planned for `day` (the last one after the end, the first before)."""
        if not self.daily_doses:
            return None
        for start, end, dose in self.daily_doses:
            if start <= day <= end:
                return dose
        return self.daily_doses[0][2] if day < self.daily_doses[0][0] else self.daily_doses[-1][2]


def view_of_plan(plan: Plan, *, start_dose: Decimal | None = None) -> PlanView:
    """`start_dose`: a taper's current daily dose (the chart starts there)."""
    return build_plan_view(to_plain(plan), start_dose=start_dose)


def view_of_version(version: PlanVersionRecord) -> PlanView:
    given = json.loads(version.input_json)
    current = given.get("current_daily_dose") if given.get("plan_type") == "oral_taper" else None
    start_dose = Decimal(current["value"]) if current else None
    return build_plan_view(json.loads(version.plan_json), start_dose=start_dose)


def effective_screening_bolus(version: PlanVersionRecord) -> str | None:
    """The first positive screening bolus in mcg ('75'), or None when none was positive.

    Responses are recorded in bolus order and the screening plan has one step per bolus
    given, so the first positive response's step holds the effective bolus.
    """
    given = json.loads(version.input_json)
    if given.get("plan_type") != "itb_screening":
        return None
    responses = list((given.get("intrathecal") or {}).get("screening_responses") or [])
    if True not in responses:
        return None
    steps = json.loads(version.plan_json)["steps"]
    index = responses.index(True)
    if index >= len(steps):
        return None
    dose = steps[index]["daily_dose"]
    return format_decimal(Decimal(dose["value"])) if dose.get("unit") == "mcg" else None


def build_plan_view(plain: dict[str, Any], *, start_dose: Decimal | None = None) -> PlanView:
    steps = tuple(_step_row(step) for step in plain["steps"])
    findings = sorted(plain["findings"], key=lambda f: SEVERITY_ORDER.get(f["severity"], 9))
    return PlanView(
        plan_type=plain["plan_type"],
        label=PLAN_TYPE_LABELS.get(plain["plan_type"], plain["plan_type"]),
        is_itb=plain["route"] == "intrathecal",
        unit=plain["unit"],
        status=plain["status"],
        steps=steps,
        limits=_limits(plain),
        findings=tuple(FindingView(**f) for f in findings),
        overrides=tuple((o["code"], o["reason"]) for o in plain["overrides"]),
        milestones=tuple((f"Day {m['day']} ({m['date']})", m["text"]) for m in plain["milestones"]),
        dispense=tuple(_dispense(line) for line in plain["dispense"]),
        chart=build_chart(plain, start_dose=start_dose) if plain["steps"] else None,
        engine_version=plain["engine_version"],
        daily_doses=tuple(
            (
                date.fromisoformat(s["start_date"]),
                date.fromisoformat(s["end_date"]),
                s["daily_dose"],
            )
            for s in plain["steps"]
        ),
        protocols=tuple(
            (ref["id"], str(ref["version"]), ref["sha256"]) for ref in plain.get("protocols", ())
        ),
    )


def _step_row(step: dict[str, Any]) -> StepRow:
    first, last = step["start_day"], step["end_day"]
    week_a, week_b = (first - 1) // 7 + 1, (last - 1) // 7 + 1
    weeks = f"Week {week_a}" if week_a == week_b else f"Weeks {week_a}–{week_b}"
    days = f"Day {first}" if first == last else f"Days {first}–{last}"
    dates = (
        step["start_date"]
        if step["start_date"] == step["end_date"]
        else f"{step['start_date']} to {step['end_date']}"
    )
    admins = tuple(
        AdminRow(TIME_LABELS.get(a["time_of_day"], a["time_of_day"]), format_dose(a["dose"]),
                 take_text(a))
        for a in step["administrations"]
    )  # fmt: skip
    daily = format_dose(step["daily_dose"], per_day=True)
    per_kg = step.get("mg_per_kg_day")
    per_kg_text = f"{format_decimal(Decimal(per_kg))} mg/kg/day" if per_kg is not None else ""
    return StepRow(step["index"], weeks, days, dates, daily, admins, per_kg_text)


def _limits(plain: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    limits, renal = plain["limits"], plain["renal"]
    crcl = renal["crcl_ml_min"]
    clearance = (
        f"{format_decimal(Decimal(crcl))} mL/min ({_METHOD.get(renal['method'], renal['method'])})"
        if crcl is not None
        else "not known"
    )
    protocol = plain["protocol"]
    return (
        ("Maximum daily dose (cap)", format_dose(limits["max_daily_dose"], per_day=True) or "—"),
        ("Target daily dose", format_dose(limits["target_daily_dose"], per_day=True) or "—"),
        ("Renal band", renal["band"].replace("_", " ")),
        ("Creatinine clearance", clearance),
        ("Weight basis", _BASIS.get(renal["weight_basis"], renal["weight_basis"])),
        ("Protocol", f"{protocol['id']} version {protocol['version']}"),
    )


def _dispense(line: dict[str, Any]) -> str:
    quantity = format_decimal(Decimal(line["quantity"]))
    if line["form"] == "tablet":
        plural = "s" if Decimal(line["quantity"]) != 1 else ""
        return f"{quantity} × {format_dose(line['tablet_strength'])} tablet{plural}"
    conc = line["concentration"]
    return f"{quantity} mL of {format_decimal(Decimal(conc['value']))} {conc['unit']}/mL"


@dataclass(frozen=True)
class VersionRow:
    number: int
    action: str
    reason: str
    created_by: str
    created_by_kind: str
    created_at: object
    status: str
    hash_short: str
    superseded: bool


def version_rows(record: PlanRecord, versions: list[PlanVersionRecord]) -> list[VersionRow]:
    return [
        VersionRow(
            v.number, "created" if v.action == "create" else "revised", v.reason or "—",
            v.created_by, v.author_kind, v.created_at, v.status, v.content_sha256[:12],
            v.number != record.current_version,
        )
        for v in reversed(versions)
    ]  # fmt: skip


@dataclass(frozen=True)
class DiffRow:
    label: str
    left: str
    right: str

    @property
    def changed(self) -> bool:
        return self.left != self.right


def diff_sections(a: PlanView, b: PlanView) -> list[tuple[str, list[DiffRow]]]:
    """Side-by-side rows for steps, limits and findings; a missing side is shown as '—'."""
    return [
        ("Steps", _pair(_step_texts(a), _step_texts(b))),
        ("Limits", _pair(dict(a.limits), dict(b.limits))),
        ("Findings", _pair(_finding_texts(a), _finding_texts(b))),
        ("Overrides", _pair(dict(a.overrides), dict(b.overrides))),
    ]


def _step_texts(view: PlanView) -> dict[str, str]:
    return {
        f"Step {s.index}": f"{s.days} ({s.dates}): {s.daily} — "
        + "; ".join(f"{r.time} {r.dose}" for r in s.administrations)
        for s in view.steps
    }


def _finding_texts(view: PlanView) -> dict[str, str]:
    return {f.code: f"{f.severity} ({f.rule}): {f.message}" for f in view.findings}


def _pair(left: dict[str, str], right: dict[str, str]) -> list[DiffRow]:
    labels = list(dict.fromkeys([*left, *right]))
    return [DiffRow(label, left.get(label, "—"), right.get(label, "—")) for label in labels]


def _labelled(values: list[str], *, blank: str | None = None) -> list[tuple[str, str]]:
    pairs = [(v, v.replace("_", " ").capitalize()) for v in values]
    return [("", blank), *pairs] if blank is not None else pairs


INDICATION_LABELS = {
    "multiple_sclerosis": "Multiple sclerosis", "spinal_cord_injury": "Spinal cord injury",
    "spinal_cord_disease": "Spinal cord disease", "cerebral_palsy": "Cerebral palsy",
    "brain_injury": "Brain injury", "stroke": "Stroke",
    "other_spinal": "Other spinal cause", "other_cerebral": "Other cerebral cause",
    "rheumatic_disease": "Rheumatic disease", "parkinsonism": "Parkinsonism",
    "peripheral_injury": "Peripheral injury",
}  # fmt: skip
# Each reason says what it changes; the empty choice is the engine's own pick (A.2: before
# delivery for a pregnant patient, otherwise the general taper), so it is not a second
# "General".
TAPER_REASON_LABELS = {
    "": "Automatic: before delivery if pregnant, otherwise no longer needed",
    "general": "No longer needed",
    "no_benefit": "No benefit after an adequate trial",
    "pre_delivery": "Before delivery (pregnancy)",
    "itb_transition": "Change to intrathecal baclofen",
}
CHOICES: dict[str, list[tuple[str, str]]] = {
    "plan_type": list(PLAN_TYPE_LABELS.items()),
    "indication": [("", "Choose…"), *INDICATION_LABELS.items()],
    "setting": _labelled(["outpatient", "inpatient"]),
    "formulation": [("", "Protocol default"), ("tablet", "Tablets"),
                    ("oral_solution", "Oral solution (mL)")],
    "taper_reason": list(TAPER_REASON_LABELS.items()),
    "screening": [("", "Not given yet"), ("negative", "Negative"), ("positive", "Positive")],
}  # fmt: skip
# The bolus doses come from the ITB protocol (adults 50/75/100, children 25/50/75/100 mcg) and
# are shown in the schedule beside the form; the labels only number the days.
SCREENING_BOLUSES = tuple((f"screening_{n}", f"day {n}") for n in range(1, 5))


def refill_rows(result: Any) -> list[tuple[str, str]]:
    """A RefillPlan as labelled lines (volumes in mL, dates ISO)."""
    due = result.refill_due_date.isoformat()
    return [
        (
            "Daily volume",
            f"{format_decimal(result.daily_volume_ml.quantize(Decimal('0.01')))} mL/day",
        ),
        ("Days to alarm", f"{format_decimal(result.days_to_alarm.quantize(Decimal('0.1')))} days"),
        ("Alarm date", result.alarm_date.isoformat()),
        # The refill is due in its window, never on the alarm date after it.
        (
            "Refill window (refill due)",
            f"{result.window_start.isoformat()} to {result.window_end.isoformat()}",
        ),
        (
            "Latest refill date",
            f"{due} (maximum interval)" if result.limited_by_max_interval else due,
        ),
        *(
            (f"{finding.severity.value.capitalize()}: {finding.code}", finding.message)
            for finding in result.findings
        ),
    ]
