"""Oral titration (A.1): start, fixed steps at a fixed interval, hold at target to day 42."""

from __future__ import annotations

from decimal import Decimal

from app.domain.titration.age import Age
from app.domain.titration.draft import Draft, FindingCode
from app.domain.titration.errors import (
    IntervalTooShortError,
    InvalidInputError,
    TargetAboveHardLimitError,
)
from app.domain.titration.library import ProtocolSet
from app.domain.titration.model import PlanRequest, Setting
from app.domain.titration.oral_doses import (
    DoseForm,
    choose_form,
    fit_dose_count,
    lay_out,
    split_daily,
)
from app.domain.titration.plan import Limits, MilestoneKind, RenalAssessment
from app.domain.titration.regimen import OralRegimen, derive_regimen, preferred_dose_count
from app.domain.titration.steps import milestone_on
from app.domain.titration.units import (
    Dose,
    DoseUnit,
    plain_number,
    require_unit,
    round_to_strength,
)

REVIEW_TEXT = (
    "Six-week review (R-OA-10): if there is no benefit, taper off over at least 14 days; "
    "never stop abruptly."
)


def draft_oral_titration(
    request: PlanRequest, age: Age, renal: RenalAssessment, protocols: ProtocolSet
) -> Draft:
    """Titration steps for the patient's regimen, with the target and limit findings."""
    regimen = derive_regimen(age, request.patient.weight_kg, renal.band, protocols)
    target, limit_findings, max_daily = _settle_target(request, regimen)
    interval = _interval(request, regimen)
    lowest = min(regimen.start, target)
    form, solution_imposed = choose_form(
        request.formulation, weight_kg=request.patient.weight_kg,
        child=regimen.per_dose_steps, formulations=protocols.formulations,
        usable=lambda candidate: round_to_strength(lowest, candidate.step) >= candidate.step,
    )  # fmt: skip
    if regimen.doses_per_day is not None:
        levels = _per_dose_levels(
            request.doses_per_day or regimen.doses_per_day, regimen, target, form
        )
    else:
        levels = _per_day_levels(request, regimen, target, form, protocols)
    adult = protocols.oral_adult
    steps = lay_out(
        levels, level_days=interval, last_until_day=adult.integer("last_step_until_day"),
        start_date=request.start_date, form=form,
    )  # fmt: skip
    review = milestone_on(
        request.start_date, steps[-1].end_day + 1, MilestoneKind.REVIEW, REVIEW_TEXT
    )
    return Draft(
        steps=steps,
        milestones=(review,),
        limits=Limits(Dose(max_daily, DoseUnit.MG), Dose(target, DoseUnit.MG)),
        findings=(*limit_findings, *_dose_findings(regimen, target, solution_imposed)),
        protocols=tuple(protocol.ref for protocol in (*regimen.protocols, protocols.formulations)),
    )


def _dose_findings(
    regimen: OralRegimen, target: Decimal, solution_imposed: bool
) -> tuple[FindingCode, ...]:
    findings = [FindingCode("no_benefit_review")]  # R-OA-10
    if regimen.soft_alert is not None and target > regimen.soft_alert:
        usual = f"Usual upper dose: {plain_number(regimen.soft_alert)} mg/day."
        findings.append(FindingCode("above_usual_dose", usual))
    if solution_imposed:
        findings.append(FindingCode("solution_only"))
    return tuple(findings)


def _settle_target(
    request: PlanRequest, regimen: OralRegimen
) -> tuple[Decimal, tuple[FindingCode, ...], Decimal]:
    """Default or prescribed target; above the hard cap only in hospital with an override."""
    target = regimen.target
    if request.target_daily_dose is not None:
        target = require_unit(
            request.target_daily_dose, DoseUnit.MG, field="target_daily_dose"
        ).value
    if target <= 0:
        raise InvalidInputError(
            "The target daily dose must be above 0 mg.", field="target_daily_dose"
        )
    if target <= regimen.cap:
        return target, (), regimen.cap
    if request.setting is Setting.INPATIENT and target <= regimen.inpatient_cap:
        # R-OA-6: 80 < target ≤ 100 mg/day only supervised in hospital, as an overridable block.
        return target, (FindingCode("above_outpatient_maximum"),), regimen.inpatient_cap
    limit = regimen.inpatient_cap if request.setting is Setting.INPATIENT else regimen.cap
    raise TargetAboveHardLimitError(
        f"Target {plain_number(target)} mg/day is above the hard limit of "
        f"{plain_number(limit)} mg/day for this patient.",
        field="target_daily_dose",
    )


def _interval(request: PlanRequest, regimen: OralRegimen) -> int:
    if request.step_interval_days is None:
        return regimen.interval_days
    if request.step_interval_days < regimen.interval_days:
        raise IntervalTooShortError(
            f"Steps may not be closer than every {regimen.interval_days} days for this patient.",
            field="step_interval_days",
        )
    return request.step_interval_days


def _per_day_levels(
    request: PlanRequest,
    regimen: OralRegimen,
    target: Decimal,
    form: DoseForm,
    protocols: ProtocolSet,
) -> list[tuple[Decimal, ...]]:
    """Adults: +step mg/day each level (R-OA-2); 3 doses up to 60 mg/day, 4 above (R-OA-7)."""
    adult = protocols.oral_adult
    priority = adult.text_lists["remainder_priority"]
    levels: list[tuple[Decimal, ...]] = []
    daily = min(regimen.start, target)
    while True:
        preferred = preferred_dose_count(
            daily, request.doses_per_day, child=False, protocols=protocols
        )
        doses = split_daily(daily, fit_dose_count(daily, preferred, form), form, priority)
        if not levels or sum(doses) != sum(levels[-1]):
            levels.append(doses)
        if daily >= target or regimen.step == 0:  # R-REN-5: no escalation on dialysis
            return levels
        daily = min(daily + regimen.step, target)


def _per_dose_levels(
    preferred: int, regimen: OralRegimen, target: Decimal, form: DoseForm
) -> list[tuple[Decimal, ...]]:
    """Children: equal doses, each raised by step ÷ doses, rounded down (R-PED-2, SC-17)."""
    first_daily = min(regimen.start, target)
    count = fit_dose_count(first_daily, preferred, form)
    dose = round_to_strength(first_daily / count, form.step)
    increment = round_to_strength(regimen.step / count, form.step)
    top = round_to_strength(target / count, form.step)
    levels = [(dose,) * count]
    while increment > 0 and dose < top:
        dose = min(dose + increment, top)
        levels.append((dose,) * count)
    return levels
