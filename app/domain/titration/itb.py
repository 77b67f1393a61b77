"""Intrathecal baclofen (A.3): screening boluses and post-implant titration, in mcg only."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from app.domain.titration.age import Age
from app.domain.titration.draft import Draft, FindingCode
from app.domain.titration.errors import (
    InvalidInputError,
    MissingInputError,
    StepPercentOutOfRangeError,
    TargetAboveHardLimitError,
)
from app.domain.titration.library import ProtocolSet
from app.domain.titration.model import CEREBRAL_INDICATIONS, IntrathecalInput, PlanRequest
from app.domain.titration.plan import (
    Administration,
    Concentration,
    DispenseLine,
    Limits,
    Milestone,
    MilestoneKind,
    Preparation,
    PreparationForm,
    Step,
    TimeOfDay,
)
from app.domain.titration.protocol import Protocol
from app.domain.titration.steps import make_step
from app.domain.titration.units import (
    Dose,
    DoseUnit,
    plain_number,
    require_unit,
    round_to_strength,
)

HUNDRED = Decimal(100)


def draft_itb_screening(request: PlanRequest, age: Age, protocols: ProtocolSet) -> Draft:
    """One bolus a day (≥ 24 h apart) until the first positive response (R-IT-S1..S5, R-IT-8)."""
    itb = protocols.itb
    child = age.is_under(itb.integer("child_below_years"))
    boluses = itb.decimal_lists[
        "screening_boluses_child_mcg" if child else "screening_boluses_adult_mcg"
    ]
    responses = request.intrathecal.screening_responses if request.intrathecal else ()
    if len(responses) > len(boluses) or True in responses[:-1]:
        raise InvalidInputError(
            "Screening responses: at most one per bolus, and none after the first positive.",
            field="intrathecal.screening_responses",
        )
    if responses and responses[-1]:
        boluses = boluses[: len(responses)]
    failed = len(responses) == len(boluses) and not any(responses)
    concentration = Concentration(itb.decimal("screening_concentration_mcg_ml"), DoseUnit.MCG)
    steps = tuple(
        _bolus_step(day, bolus, concentration, request)
        for day, bolus in enumerate(boluses, start=1)
    )
    return Draft(
        steps=steps,
        milestones=(),
        limits=Limits(Dose(itb.decimal("max_bolus_mcg"), DoseUnit.MCG), None),
        findings=(FindingCode("itb_screening_failed"),) if failed else (),
        protocols=(itb.ref,),
    )


def _bolus_step(
    day: int, bolus: Decimal, concentration: Concentration, request: PlanRequest
) -> Step:
    volume = bolus / concentration.value
    preparation = Preparation(
        PreparationForm.INTRATHECAL_SOLUTION, concentration=concentration, volume_ml=volume
    )
    dispense = DispenseLine(
        PreparationForm.INTRATHECAL_SOLUTION, volume, "mL", concentration=concentration
    )
    return make_step(
        day, day, end_day=day, start_date=request.start_date, unit=DoseUnit.MCG,
        administrations=(Administration(TimeOfDay.BOLUS, Dose(bolus, DoseUnit.MCG), preparation),),
        dispense=(dispense,),
    )  # fmt: skip


def draft_itb_titration(request: PlanRequest, age: Age, protocols: ProtocolSet) -> Draft:
    """Day 1 = 2 × the effective bolus (1 × when it lasted > 8 h), held for 24 h; then
    +step_percent of the daily dose once a day, rounded down, never above the target, and
    without a target never above the ceiling (A.6.7), where it holds with ``ceiling_reached``."""
    itb = protocols.itb
    given = request.intrathecal or IntrathecalInput()
    initial = _initial_daily_dose(given, itb)
    percent = _step_percent(request, given, age, itb)
    days = itb.integer("default_days") if given.days is None else given.days
    if days < 1:
        raise InvalidInputError("The titration needs at least 1 day.", field="intrathecal.days")
    target = _target(request, itb)
    limit = itb.decimal("ceiling_mcg_day") if target is None else target
    granularity = itb.decimal("dose_granularity_mcg")
    daily = [min(initial, limit)]
    for _ in range(days - 1):
        # Rounding down may not undo the previous day's dose: a step never lowers it.
        raised = max(
            daily[-1], round_to_strength(daily[-1] * (HUNDRED + percent) / HUNDRED, granularity)
        )
        daily.append(min(raised, limit))
    return Draft(
        steps=_continuous_steps(daily, request),
        milestones=_ceiling_milestone(daily, request, itb) if target is None else (),
        limits=Limits(
            Dose(limit, DoseUnit.MCG), None if target is None else Dose(target, DoseUnit.MCG)
        ),
        findings=_titration_findings(daily, target, itb),
        protocols=(itb.ref,),
    )


def _target(request: PlanRequest, itb: Protocol) -> Decimal | None:
    """The prescriber's target in mcg/day: above 0, at most the hard limit (A.6.7)."""
    if request.target_daily_dose is None:
        return None
    target = require_unit(request.target_daily_dose, DoseUnit.MCG, field="target_daily_dose").value
    if target <= 0:
        raise InvalidInputError("The target must be above 0 mcg/day.", field="target_daily_dose")
    hard_limit = itb.decimal("hard_limit_mcg_day")
    if target > hard_limit:
        raise TargetAboveHardLimitError(
            f"An intrathecal target above {plain_number(hard_limit)} mcg/day is refused "
            "(A.6.7, R-IT-M1: beyond the trial range).",
            field="target_daily_dose",
        )
    return target


def _ceiling_milestone(
    daily: list[Decimal], request: PlanRequest, itb: Protocol
) -> tuple[Milestone, ...]:
    """``ceiling_reached`` on the first day at the ceiling: reassess before going higher."""
    ceiling = itb.decimal("ceiling_mcg_day")
    if daily[-1] < ceiling:
        return ()
    day = daily.index(ceiling) + 1
    return (
        Milestone(
            day,
            request.start_date + timedelta(days=day - 1),
            MilestoneKind.CEILING_REACHED,
            f"Ceiling of {plain_number(ceiling)} mcg/day reached (R-IT-M5): the dose holds; "
            "reassess (pump, catheter, response) before any further increase.",
        ),
    )


def _titration_findings(
    daily: list[Decimal], target: Decimal | None, itb: Protocol
) -> tuple[FindingCode, ...]:
    findings: list[FindingCode] = []
    high = itb.decimal("high_dose_mcg_day")
    if target is not None and target > high:
        findings.append(FindingCode("itb_high_dose", f"Target: {plain_number(target)} mcg/day."))
    if daily[-1] > high:
        findings.append(
            FindingCode("itb_high_dose", f"Planned up to {plain_number(daily[-1])} mcg/day.")
        )
    large = [
        (before, after)
        for before, after in itertools.pairwise(daily)
        if after > itb.decimal("large_step_above_mcg_day")
        and (after - before) * HUNDRED > itb.decimal("large_step_percent") * before
    ]
    if large:
        before, after = large[0]
        findings.append(
            FindingCode(
                "itb_large_step",
                f"First: {plain_number(before)} → {plain_number(after)} mcg/day.",
            )
        )
    return tuple(findings)


def _initial_daily_dose(given: IntrathecalInput, itb: Protocol) -> Decimal:
    if given.effective_bolus is None or given.effect_duration_hours is None:
        raise MissingInputError(
            "Titration needs the effective screening bolus and how long its effect lasted.",
            field="intrathecal.effective_bolus",
        )
    bolus = require_unit(given.effective_bolus, DoseUnit.MCG, field="intrathecal.effective_bolus")
    if not 0 < bolus.value <= itb.decimal("max_bolus_mcg") or given.effect_duration_hours < 0:
        raise InvalidInputError(
            "The effective bolus must be above 0 and at most 100 mcg (R-IT-S5); "
            "the effect duration cannot be negative.",
            field="intrathecal.effective_bolus",
        )
    long_effect = given.effect_duration_hours > itb.decimal("long_effect_hours")
    multiplier = itb.decimal("long_effect_multiplier" if long_effect else "initial_multiplier")
    return round_to_strength(bolus.value * multiplier, itb.decimal("dose_granularity_mcg"))


def _step_percent(
    request: PlanRequest, given: IntrathecalInput, age: Age, itb: Protocol
) -> Decimal:
    """Spinal adults 10 % (10–30); cerebral origin or children 5 % (5–15) (R-IT-P3..P7)."""
    cerebral = request.indication in CEREBRAL_INDICATIONS or age.is_under(
        itb.integer("child_below_years")
    )
    kind = "cerebral" if cerebral else "spinal"
    low, high = itb.decimal(f"{kind}_step_percent_min"), itb.decimal(f"{kind}_step_percent_max")
    percent = given.step_percent
    if percent is None:
        return itb.decimal(f"{kind}_step_percent_default")
    if not low <= percent <= high:
        raise StepPercentOutOfRangeError(
            f"Daily step must be {plain_number(low)}–{plain_number(high)} % for this patient.",
            field="intrathecal.step_percent",
        )
    return percent


def _continuous_steps(daily: list[Decimal], request: PlanRequest) -> tuple[Step, ...]:
    """One step per distinct daily dose; consecutive equal days are one step."""
    runs: list[list[int]] = []
    for day, dose in enumerate(daily, start=1):
        if runs and daily[runs[-1][0] - 1] == dose:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return tuple(
        make_step(
            index, start, end_day=end, start_date=request.start_date, unit=DoseUnit.MCG,
            administrations=(
                Administration(TimeOfDay.CONTINUOUS, Dose(daily[start - 1], DoseUnit.MCG)),
            ),
        )
        for index, (start, end) in enumerate(runs, start=1)
    )  # fmt: skip
