"""The clinician summary of one stored plan version: the basis of the plan, for the record.

RELIABILITY M10 asks every printout to show what a plan was computed from: the patient data
used, the renal estimate with its weight basis, the protocol and version, the limits, every
finding, and every override and acknowledgement with who and why. All of it is read from the
stored version (`input_json`, `plan_json`, `acknowledged`, `created_by`): a saved version never
changes, so the summary of version 2 prints the same today as on the day it was saved. Nothing
is recomputed. The patient record only supplies the identifiers (name, birth date, MRN).

Every dose leaves here as text with its unit, ISMP style ("5 mg", "0.5 mL", "100 mcg/day"),
a non-breaking space between number and unit so that no line ends between the two.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.db.models import PatientRecord, PlanRecord, PlanVersionRecord
from app.printing.doses import concentration_text, dose_text, take_text
from app.printing.i18n import N_, translations
from app.printing.numbers import format_number, format_quantity
from app.printing.summary_basis import (
    LANGUAGE,
    PLAN_TYPE_LABELS,
    Fact,
    format_dose,
    limit_facts,
    patient_data,
    plan_inputs,
    renal_facts,
)

_TIME_LABELS = {
    "morning": N_("Morning"), "midday": N_("Midday"), "evening": N_("Evening"),
    "night": N_("Night"), "bolus": N_("Bolus (lumbar puncture)"),
    "continuous": N_("Continuous (pump)"),
}  # fmt: skip
_SEVERITY_ORDER = {"block": 0, "major": 1, "moderate": 2, "info": 3}


@dataclass(frozen=True, slots=True)
class FindingLine:
    severity: str
    code: str
    rule: str
    message: str
    source: str
    # How the prescriber dealt with it: "Overridden", "Acknowledged" or "" (nothing required).
    handling: str


@dataclass(frozen=True, slots=True)
class Decision:
    """An override or acknowledgement: which finding, who decided, when, and why."""

    kind: str  # "override" | "acknowledgement"
    code: str
    severity: str
    by: str
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class DoseLine:
    time: str
    dose: str
    take: str


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    index: int
    days: str
    dates: str
    daily: str
    doses: tuple[DoseLine, ...]


@dataclass(frozen=True, slots=True)
class ProtocolLine:
    id: str
    version: str
    sha256: str

    @property
    def sha_short(self) -> str:
        return self.sha256[:12]


@dataclass(frozen=True, slots=True)
class PatientIdentity:
    name: str
    birth_date: date
    mrn: str


@dataclass(frozen=True, slots=True)
class VersionFacts:
    number: int
    current_number: int
    action: str
    reason: str | None
    status: str
    created_by: str
    created_by_role: str | None
    created_by_kind: str
    created_at: datetime
    content_sha256: str
    engine_version: str

    @property
    def superseded(self) -> bool:
        return self.number != self.current_number

    @property
    def hash_short(self) -> str:
        return self.content_sha256[:12]


@dataclass(frozen=True, slots=True)
class ClinicianSummary:
    plan_id: int
    plan_type: str
    label: str
    is_itb: bool
    unit: str
    state: str
    state_reason: str | None
    patient: PatientIdentity
    version: VersionFacts
    plan_inputs: tuple[Fact, ...]
    patient_data: tuple[Fact, ...]
    renal: tuple[Fact, ...]
    protocol: ProtocolLine
    protocols: tuple[ProtocolLine, ...]
    limits: tuple[Fact, ...]
    findings: tuple[FindingLine, ...]
    decisions: tuple[Decision, ...]
    schedule: tuple[ScheduleRow, ...]
    milestones: tuple[Fact, ...]
    dispense: tuple[str, ...]


def build_summary(
    plan: PlanRecord, version: PlanVersionRecord, patient: PatientRecord
) -> ClinicianSummary:
    """The summary of `version` of `plan`, from what that version stored."""
    given = json.loads(version.input_json)
    result = json.loads(version.plan_json)
    return ClinicianSummary(
        plan_id=plan.id,
        plan_type=result["plan_type"],
        label=PLAN_TYPE_LABELS.get(result["plan_type"], result["plan_type"]),
        is_itb=result["route"] == "intrathecal",
        unit=result["unit"],
        state=plan.state.replace("_", " "),
        state_reason=plan.state_reason,
        patient=PatientIdentity(
            f"{patient.family_name}, {patient.given_name}", patient.birth_date, patient.mrn
        ),
        version=_version_facts(plan, version, result),
        plan_inputs=plan_inputs(given),
        patient_data=patient_data(given),
        renal=renal_facts(result["renal"]),
        protocol=ProtocolLine(**result["protocol"]),
        protocols=tuple(ProtocolLine(**ref) for ref in result["protocols"]),
        limits=limit_facts(result["limits"]),
        findings=_findings(result, version.acknowledged),
        decisions=_decisions(result, version),
        schedule=tuple(_schedule_row(step) for step in result["steps"]),
        milestones=tuple(
            Fact(f"Day {m['day']} ({m['date']})", m["text"]) for m in result["milestones"]
        ),
        dispense=tuple(_dispense(line) for line in result["dispense"]),
    )


def _version_facts(
    plan: PlanRecord, version: PlanVersionRecord, result: dict[str, Any]
) -> VersionFacts:
    return VersionFacts(
        number=version.number,
        current_number=plan.current_version,
        action="created" if version.action == "create" else "revised",
        reason=version.reason,
        status=version.status,
        created_by=version.created_by,
        created_by_role=version.created_by_role,
        created_by_kind=version.author_kind,
        created_at=version.created_at,
        content_sha256=version.content_sha256,
        engine_version=result["engine_version"],
    )


def _findings(result: dict[str, Any], acknowledged: list[str]) -> tuple[FindingLine, ...]:
    overridden = {o["code"] for o in result["overrides"]}
    ordered = sorted(result["findings"], key=lambda f: _SEVERITY_ORDER.get(f["severity"], 9))
    return tuple(
        FindingLine(
            severity=f["severity"],
            code=f["code"],
            rule=f["rule"],
            message=f["message"],
            source=f["source"],
            handling=N_("Overridden")
            if f["code"] in overridden
            else N_("Acknowledged")
            if f["code"] in acknowledged
            else "",
        )
        for f in ordered
    )


def _decisions(result: dict[str, Any], version: PlanVersionRecord) -> tuple[Decision, ...]:
    """Overrides and acknowledgements are part of the saved version: the person who saved it
    made them (the service refuses a save without them), so `created_by` is who decided."""
    severity = {f["code"]: f["severity"] for f in result["findings"]}
    by = version.created_by + (f" ({version.created_by_role})" if version.created_by_role else "")
    if version.author_kind == "client":
        by = f"{version.created_by} (API client)"
    overrides = tuple(
        Decision("override", o["code"], severity.get(o["code"], "block"), by,
                 version.created_at, o["reason"])
        for o in result["overrides"]
    )  # fmt: skip
    acknowledgements = tuple(
        Decision("acknowledgement", code, severity.get(code, "major"), by, version.created_at, "")
        for code in version.acknowledged
    )
    return overrides + acknowledgements


def _schedule_row(step: dict[str, Any]) -> ScheduleRow:
    first, last = step["start_day"], step["end_day"]
    days = f"Day {first}" if first == last else f"Days {first}–{last}"
    start, end = step["start_date"], step["end_date"]
    doses = tuple(
        DoseLine(_TIME_LABELS.get(a["time_of_day"], a["time_of_day"]),
                 format_dose(a["dose"]), take_text(a, LANGUAGE, translations(LANGUAGE)))
        for a in step["administrations"]
    )  # fmt: skip
    return ScheduleRow(
        index=step["index"],
        days=days,
        dates=start if start == end else f"{start} to {end}",
        daily=format_dose(step["daily_dose"], per_day=True),
        doses=doses,
    )


def _dispense(line: dict[str, Any]) -> str:
    """'117 × 10 mg tablets', '2.5 mL of 50 mcg/mL'."""
    quantity = Decimal(line["quantity"])
    if line["form"] == "tablet":
        plural = "s" if quantity != 1 else ""
        strength = dose_text(line["tablet_strength"], LANGUAGE)
        return f"{format_number(quantity, LANGUAGE)} × {strength} tablet{plural}"
    volume = format_quantity(quantity, "mL", LANGUAGE)
    return f"{volume} of {concentration_text(line['concentration'], LANGUAGE)}"
