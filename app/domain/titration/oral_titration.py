"""Oral titration (A.1): start, fixed steps at a fixed interval, hold at target to day 42."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from itertools import pairwise

from app.domain.titration.age import Age
from app.domain.titration.draft import Draft, FindingCode
from app.domain.titration.errors import (
    DoseNotDeliverableError,
    IntervalTooShortError,
    InvalidInputError,
    TargetAboveHardLimitError,
)
from app.domain.titration.library import ProtocolSet
from app.domain.titration.model import PlanRequest, Setting
from app.domain.titration.oral_doses import (
    DoseCountRule,
    DoseForm,
    adjusted_finding,
    choose_form,
    divide_levels,
    lay_out,
    levels_by_rules,
    no_stock_finding,
    solution_finding,
    stock_findings,
)
from app.domain.titration.plan import Limits, MilestoneKind, RenalAssessment
from app.domain.titration.protocol import Protocol
from app.domain.titration.regimen import OralRegimen, derive_regimen, dose_count_rule
from app.domain.titration.steps import milestone_on
from app.domain.titration.units import (
    Dose,
    DoseUnit,
    plain_number,
    require_unit,
    round_to_strength,
)

NO_BENEFIT_REVIEW = FindingCode("no_benefit_review")
REVIEW_TEXT = (
    "Six-week review (R-OA-10): if there is no benefit, taper off over at least 14 days; "
    "never stop abruptly."
)


def draft_oral_titration(
    request: PlanRequest, age: Age, renal: RenalAssessment, protocols: ProtocolSet
) -> Draft:
    """Titration steps for the patient's regimen, with the target and limit findings.

    With ``current_daily_dose`` (API §5.1) the titration continues from today's dose: the
    first level is that dose rounded down to what the formulation delivers, then the
    protocol's steps up to the target; at or above the target it is held there (never above
    the cap: a higher dose is brought to the cap, with ``current_dose_above_maximum``).
    """
    regimen = derive_regimen(age, request.patient.weight_kg, renal.band, protocols)
    if regimen.per_dose_steps:  # a child: dosed by weight throughout
        return _titration(request, regimen, protocols)
    # An adult's draft follows from the regimen (one per age group and renal band) and the
    # request's dosing fields below, nothing else: the live preview and the impact report
    # meet the same combination again and again. The regimen is named by identity: the
    # protocol set holds it as long as it holds this memory (Derived.get), so the identity
    # is never reused. Doses and the weight by their exact digits (30 and 30.0 differ in
    # the plan's limits).
    key = (
        "adult_titration", id(regimen), request.start_date, _digits(request.target_daily_dose),
        _digits(request.current_daily_dose), request.setting, request.step_interval_days,
        request.doses_per_day, request.formulation, _weight_digits(request),
    )  # fmt: skip
    return protocols.derived.remember(key, lambda: _titration(request, regimen, protocols))


def _digits(dose: Dose | None) -> tuple[object, ...] | None:
    return None if dose is None else (dose.value.as_tuple(), dose.unit)


def _weight_digits(request: PlanRequest) -> object:
    weight = request.patient.weight_kg
    return None if weight is None else weight.as_tuple()


def _titration(request: PlanRequest, regimen: OralRegimen, protocols: ProtocolSet) -> Draft:
    adult = protocols.oral_adult
    target, limit_findings, max_daily = _settle_target(
        request, regimen, adult.integer("max_doses_per_day")
    )
    interval = _interval(request, regimen)
    wanted, current_findings = _first_level(request, regimen, target, max_daily)
    lowest = min(wanted, target)
    rule = dose_count_rule(regimen.max_single, child=regimen.per_dose_steps, protocols=protocols)

    def levels_at(at: DoseForm) -> tuple[list[tuple[Decimal, ...]], list[int]]:
        first = round_to_strength(wanted, at.step)
        if regimen.per_dose_steps:
            dailies = _per_dose_levels(first, regimen, target, at, rule)
        else:
            dailies = _per_day_levels(first, regimen, target)
        return divide_levels(dailies, request.doses_per_day, rule, at)

    form, solution_imposed = choose_form(
        request.formulation, weight_kg=request.patient.weight_kg,
        child=regimen.per_dose_steps, protocols=protocols,
        usable=lambda candidate: round_to_strength(lowest, candidate.step) >= candidate.step
        and _stock_keeps_the_steps(candidate, levels_at),
    )  # fmt: skip
    refs = tuple(protocol.ref for protocol in (*regimen.protocols, *_stock(protocols)))
    limits = Limits(Dose(max_daily, DoseUnit.MG), Dose(target, DoseUnit.MG))
    if form is None:
        return Draft((), (), limits, (*limit_findings, no_stock_finding(lowest)), refs)
    levels, adjusted = levels_at(form)
    stock = stock_findings(levels, levels_by_rules(form, lambda at: levels_at(at)[0]))
    steps = lay_out(
        levels, level_days=interval, last_until_day=adult.integer("last_step_until_day"),
        start_date=request.start_date, form=form,
        child_weight_kg=request.patient.weight_kg if regimen.per_dose_steps else None,
    )  # fmt: skip
    # A.6.4: the review stands at day 43 at the latest, also when the top dose comes later.
    review_day = min(steps[-1].end_day + 1, adult.integer("review_by_day"))
    review = milestone_on(request.start_date, review_day, MilestoneKind.REVIEW, REVIEW_TEXT)
    return Draft(
        steps=steps,
        milestones=(review,),
        limits=limits,
        findings=(
            *limit_findings, *current_findings, *adjusted_finding(adjusted), *stock,
            *_dose_findings(regimen, target),
            *((solution_finding(form),) if solution_imposed else ()),
        ),
        protocols=refs,
    )  # fmt: skip


Levels = tuple[list[tuple[Decimal, ...]], list[int]]


def _stock_keeps_the_steps(form: DoseForm, levels_at: Callable[[DoseForm], Levels]) -> bool:
    """Coarse stock (rounding above the rules') may round levels down, never raise the dose
    faster than the protocol's own levels do: no rise between levels above the largest rise
    at the rules' rounding. Today's stock is not re-checked (it is the rules' rounding)."""
    rules_form = form.at_rules_step()
    if rules_form is None:
        return True
    try:
        stocked = [sum(doses) for doses in levels_at(form)[0]]
        by_rules = [sum(doses) for doses in levels_at(rules_form)[0]]
    except DoseNotDeliverableError:
        return False
    largest = max((b - a for a, b in pairwise(by_rules)), default=Decimal(0))
    return stocked[0] <= by_rules[0] and all(b - a <= largest for a, b in pairwise(stocked))


def _stock(protocols: ProtocolSet) -> tuple[Protocol, ...]:
    return (protocols.formulations, protocols.formulary)


def _first_level(
    request: PlanRequest, regimen: OralRegimen, target: Decimal, max_daily: Decimal
) -> tuple[Decimal, tuple[FindingCode, ...]]:
    """The protocol's start, or today's dose when the titration continues from it."""
    if request.current_daily_dose is None:
        return min(regimen.start, target), ()
    current = require_unit(
        request.current_daily_dose, DoseUnit.MG, field="current_daily_dose"
    ).value
    if current <= 0:
        raise InvalidInputError(
            "The current daily dose must be above 0 mg.", field="current_daily_dose"
        )
    if current > max_daily:
        detail = f"Current dose: {plain_number(current)} mg/day."
        return max_daily, (FindingCode("current_dose_above_maximum", detail),)
    return current, ()


def _dose_findings(regimen: OralRegimen, target: Decimal) -> tuple[FindingCode, ...]:
    findings = [NO_BENEFIT_REVIEW]  # R-OA-10
    if regimen.soft_alert is not None and target > regimen.soft_alert:
        usual = f"Usual upper dose: {plain_number(regimen.soft_alert)} mg/day."
        findings.append(FindingCode("above_usual_dose", usual))
    return tuple(findings)


def _settle_target(
    request: PlanRequest, regimen: OralRegimen, max_doses: int
) -> tuple[Decimal, tuple[FindingCode, ...], Decimal]:
    """Default or prescribed target; above the hard cap only in hospital with an override.

    No target above what the most doses a day of the single-dose maximum can give (A.6.2).
    """
    target = regimen.target
    if request.target_daily_dose is not None:
        target = require_unit(
            request.target_daily_dose, DoseUnit.MG, field="target_daily_dose"
        ).value
    if target <= 0:
        raise InvalidInputError(
            "The target daily dose must be above 0 mg.", field="target_daily_dose"
        )
    deliverable = regimen.max_single * max_doses
    if target <= min(regimen.cap, deliverable):
        return target, (), regimen.cap
    inpatient = request.setting is Setting.INPATIENT
    if inpatient and target <= min(regimen.inpatient_cap, deliverable):
        # R-OA-6: 80 < target ≤ 100 mg/day only supervised in hospital, as an overridable block.
        return target, (FindingCode("above_outpatient_maximum"),), regimen.inpatient_cap
    limit = min(regimen.inpatient_cap if inpatient else regimen.cap, deliverable)
    raise TargetAboveHardLimitError(
        f"Target {plain_number(target)} mg/day is above the hard limit of "
        f"{plain_number(limit)} mg/day for this patient (at most {max_doses} doses a day of "
        f"at most {plain_number(regimen.max_single)} mg each).",
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
    first: Decimal, regimen: OralRegimen, target: Decimal, step: Decimal | None = None
) -> list[Decimal]:
    """Adults: +step mg/day each level (R-OA-2) from the first level up to the target;
    ``step`` when given is the regimen's rounded down to what the form delivers."""
    rise = regimen.step if step is None else step
    dailies = [first]
    daily = first
    # R-REN-5: no escalation on dialysis (step 0).
    while daily < target and rise > 0:
        daily = min(daily + rise, target)
        dailies.append(daily)
    return dailies


def _per_dose_levels(
    first: Decimal, regimen: OralRegimen, target: Decimal, form: DoseForm, rule: DoseCountRule
) -> list[Decimal]:
    """Children: four equal doses, each raised by step ÷ 4 rounded down (R-PED-2, SC-17).

    When four doses of the first level cannot be delivered (tablets for a light child) the
    levels rise by the daily step instead, and each level takes its own count (A.6.1). When
    the step ÷ 4 rounds down to nothing, they rise by the daily step rounded down to what
    the tablets deliver, never above the step.
    """
    count = rule.count_up_to
    dose = round_to_strength(first / count, form.step)
    if dose < form.step:
        return _per_day_levels(first, regimen, target)
    increment = round_to_strength(regimen.step / count, form.step)
    if increment < form.step:
        # 12 mg/day is 3 mg a dose: on 5 mg tablets the plan would never rise. The daily step
        # as the tablets deliver it instead (10 mg/day), so no rise is above the step.
        return _per_day_levels(
            dose * count, regimen, target, round_to_strength(regimen.step, form.step)
        )
    top = round_to_strength(target / count, form.step)
    dailies = [dose * count]
    while dose < top:
        dose = min(dose + increment, top)
        dailies.append(dose * count)
    return dailies
