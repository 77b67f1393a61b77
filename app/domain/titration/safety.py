"""Safety screening (A.5): every finding is a value with its severity, rule and source.

Findings are collected as codes with patient-specific detail, then kept only where the
catalogue says the code applies to the plan's route (renal rules are oral-only, R-IT rules
intrathecal-only).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from app.domain.titration.age import Age
from app.domain.titration.draft import FindingCode
from app.domain.titration.findings import Finding, Route, Severity
from app.domain.titration.library import ProtocolSet
from app.domain.titration.medications import MedicationMatch
from app.domain.titration.model import (
    CEREBRAL_INDICATIONS,
    NOT_INDICATED,
    Indication,
    PlanRequest,
    PlanType,
)
from app.domain.titration.plan import RenalAssessment, RenalBand
from app.domain.titration.renal import is_end_stage, missing_renal_inputs
from app.domain.titration.units import plain_number

# Conditions (API.md §3) and the finding each raises; active infection only matters for
# intrathecal therapy (R-IT-4), alcohol use is the D-3 interaction.
CONDITION_FINDINGS = {
    "hypersensitivity": "hypersensitivity", "epilepsy": "epilepsy",
    "peptic_ulcer_active": "peptic_ulcer_active", "peptic_ulcer_history": "peptic_ulcer_history",
    "psychiatric_disorder": "psychiatric_disorder", "suicide_risk": "suicide_risk",
    "cerebrovascular_disease": "cerebrovascular_disease",
    "respiratory_impairment": "respiratory_impairment", "hepatic_impairment": "hepatic_impairment",
    "diabetes": "diabetes", "autonomic_dysreflexia": "autonomic_dysreflexia",
    "bladder_sphincter_hypertonia": "bladder_sphincter_hypertonia",
    "active_infection": "itb_active_infection", "porphyria": "porphyria",
    "hypertension": "hypertension", "alcohol_use": "alcohol",
}  # fmt: skip
RENAL_FINDINGS = {
    RenalBand.MILD: "mild_renal_impairment",
    RenalBand.MODERATE: "moderate_renal_impairment",
    RenalBand.SEVERE: "severe_renal_impairment",
    RenalBand.DIALYSIS: "dialysis",
}
ITB_WITHDRAWAL_SIGNS = (
    "Intrathecal withdrawal (R-IT-W1/W2): early signs are return of spasticity, itching "
    "without rash, fast heart rate, goose bumps, low or unstable blood pressure and tingling; "
    "then seizures and hallucinations; severe: high fever, rigidity, reduced consciousness "
    "over 24–72 h. Oral baclofen is not a reliable rescue (R-IT-W4): restore intrathecal "
    "delivery urgently."
)
SEVERITY_ORDER = (Severity.BLOCK, Severity.MAJOR, Severity.MODERATE, Severity.INFO)
_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITY_ORDER)}


def severity_first(finding: Finding) -> tuple[int, str]:
    """Sort key of findings: most severe first, then by code."""
    return _SEVERITY_RANK[finding.severity], finding.code


# Every plan's counselling findings (R-OA-9, R-STOP, R-IT-W), the same values each time.
_COUNSELLING = {
    route: (
        FindingCode("take_with_meals"),
        FindingCode("driving"),
        FindingCode(
            "do_not_stop_abruptly", ITB_WITHDRAWAL_SIGNS if route is Route.INTRATHECAL else ""
        ),
    )
    for route in Route
}


@dataclass(frozen=True, slots=True)
class ScreeningFacts:
    """What the screening reads besides the request."""

    age: Age
    renal: RenalAssessment
    route: Route


def screen(
    request: PlanRequest,
    facts: ScreeningFacts,
    protocols: ProtocolSet,
    extra: Iterable[FindingCode],
) -> tuple[Finding, ...]:
    """All findings for the request, one per code, most severe first."""
    codes = [
        *_patient_codes(request, facts, protocols),
        *_medication_codes(request, protocols),
        *(
            _intrathecal_codes(request, facts, protocols)
            if facts.route is Route.INTRATHECAL
            else ()
        ),
        *_COUNSELLING[facts.route],
        *extra,
    ]
    details: dict[str, list[str]] = {}
    for finding_code in codes:
        rule = protocols.findings.rules[finding_code.code]
        if facts.route in rule.routes:
            notes = details.setdefault(finding_code.code, [])
            if finding_code.detail and finding_code.detail not in notes:
                notes.append(finding_code.detail)
    findings = [protocols.findings.make(code, " ".join(notes)) for code, notes in details.items()]
    return tuple(sorted(findings, key=severity_first))


def _patient_codes(
    request: PlanRequest, facts: ScreeningFacts, protocols: ProtocolSet
) -> Iterator[FindingCode]:
    patient = request.patient
    for condition in patient.conditions:
        yield FindingCode(CONDITION_FINDINGS[condition])
    if request.indication in NOT_INDICATED:
        yield FindingCode("not_indicated", f"Indication: {request.indication.value}.")
    if request.indication is Indication.STROKE:
        yield FindingCode("cerebrovascular_disease")
    if request.indication in CEREBRAL_INDICATIONS:
        yield FindingCode("cerebral_origin")
    if patient.pregnant:
        yield FindingCode("pregnancy")
    if patient.breastfeeding:
        yield FindingCode("breastfeeding")
    yield from _age_and_renal_codes(request, facts, protocols)


def _age_and_renal_codes(
    request: PlanRequest, facts: ScreeningFacts, protocols: ProtocolSet
) -> Iterator[FindingCode]:
    renal, age = facts.renal, facts.age
    if renal.band is RenalBand.UNKNOWN:
        missing = missing_renal_inputs(
            request.patient, age,
            adult_age_years=protocols.oral_adult.integer("adult_age_years"),
        )  # fmt: skip
        yield FindingCode("renal_function_unknown", f"Missing: {' and '.join(missing)}.")
    elif is_end_stage(renal, protocols.oral_renal):
        assert renal.crcl_ml_min is not None  # nosec B101 - is_end_stage needs a clearance
        yield FindingCode(
            "end_stage_renal_disease",
            f"Creatinine clearance: {plain_number(renal.crcl_ml_min)} mL/min.",
        )
    elif renal.band in RENAL_FINDINGS:
        assert renal.crcl_ml_min is not None or renal.band is RenalBand.DIALYSIS  # nosec B101: an invariant that narrows the type
        shown = (
            "not known"
            if renal.crcl_ml_min is None
            else f"{plain_number(renal.crcl_ml_min)} mL/min"
        )
        yield FindingCode(RENAL_FINDINGS[renal.band], f"Creatinine clearance: {shown}.")
    if age.months < protocols.oral_paediatric.integer("infant_block_below_months"):
        yield FindingCode("age_under_1_year", f"Age: {age.months} months.")
    elderly = protocols.oral_older_adult
    if not age.is_under(elderly.integer("elderly_age_years")):
        yield FindingCode("elderly")
        threshold = elderly.decimal("renal_alert_crcl_ml_min")
        low = renal.crcl_ml_min is not None and renal.crcl_ml_min < threshold
        if low or renal.band is RenalBand.DIALYSIS:
            yield FindingCode("elderly_renal_impairment")


def _medication_codes(request: PlanRequest, protocols: ProtocolSet) -> tuple[FindingCode, ...]:
    """A.6.9: every component of every entry; unrecognised words need a check by hand.

    Remembered per medication list (with the two facts besides it that count): every
    preview of a planning session screens the same patient's list again.
    """
    medications = request.patient.medications
    alcohol = "alcohol_use" in request.patient.conditions
    taper = request.plan_type is PlanType.ORAL_TAPER
    return protocols.derived.remember(
        ("medication_codes", medications, alcohol, taper),
        lambda: tuple(_screen_medications(medications, alcohol, taper, protocols)),
    )


def _screen_medications(
    medications: tuple[str, ...], alcohol: bool, taper: bool, protocols: ProtocolSet
) -> Iterator[FindingCode]:
    matches: list[MedicationMatch] = [protocols.medications.classify(name) for name in medications]
    depressants: dict[str, str] = {}
    if alcohol:
        depressants["alcohol"] = "alcohol use"
    for match in matches:
        if not match.recognised:
            yield FindingCode(
                "unrecognised_medication", f"Interactions not checked for '{match.entered}'."
            )
        for component in match.components:
            medication_class = component.medication_class
            if medication_class.finding == "baclofen_already_prescribed":
                if not taper:
                    yield FindingCode(medication_class.finding, f"Entered: {match.entered}.")
            elif medication_class.finding is not None:
                yield FindingCode(medication_class.finding, f"Entered: {match.entered}.")
            if medication_class.cns_depressant:
                depressants.setdefault(component.substance, match.entered)
    # D-2 PROPOSAL adopted by A.5, with A.6.9: two or more different CNS depressants, where
    # an opioid and alcohol (taken, or the condition) each count as one.
    if len(depressants) >= 2:
        yield FindingCode(
            "multiple_cns_depressants",
            f"Entered: {', '.join(dict.fromkeys(depressants.values()))}.",
        )


def _intrathecal_codes(
    request: PlanRequest, facts: ScreeningFacts, protocols: ProtocolSet
) -> Iterator[FindingCode]:
    itb = protocols.itb
    patient = request.patient
    if facts.age.is_under(itb.integer("min_age_years")):
        yield FindingCode("itb_age_under_4")
    injury = patient.brain_injury_date
    if injury is not None:
        review = add_months(injury, itb.integer("brain_injury_wait_months"))
        if request.start_date < review:
            yield FindingCode(
                "itb_recent_brain_injury", f"Earliest re-evaluation: {review.isoformat()}."
            )
    spinal = request.indication not in CEREBRAL_INDICATIONS | NOT_INDICATED
    if spinal and facts.age.is_under(itb.integer("child_below_years")):
        yield FindingCode("itb_child_spinal_origin")
    if patient.spinal_injury_level in itb.text_lists["high_withdrawal_levels"]:
        yield FindingCode(
            "itb_high_withdrawal_risk", f"Injury level: {patient.spinal_injury_level}."
        )


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months; the 29th–31st fall back to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
