"""CLINICAL_RULES A.6 (oral) as properties over the whole oral input space (Hypothesis).

Every valid oral request: ages 0–110 y, weights 2–300 kg, any renal function, setting,
formulation, prescribed target, current dose, doses a day and taper length. Blocks are
overridden so the steps are exercised; requests the engine refuses (422) are skipped.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.titration import (
    CONDITIONS,
    Dose,
    DoseUnit,
    Formulation,
    Indication,
    MilestoneKind,
    Override,
    Patient,
    Plan,
    PlanRequest,
    PlanStatus,
    PlanType,
    PreparationForm,
    Setting,
    Severity,
    Sex,
    TitrationError,
    build_plan,
)
from app.domain.titration.oral_doses import DoseForm, solution_form, split_daily, tablet_form
from app.domain.titration.regimen import OralRegimen, derive_regimen, dose_count_rule
from app.domain.titration.renal import assess_renal
from app.domain.titration.units import round_up_to_strength
from app.domain.titration.validation import patient_age
from tests.unit.domain.builders import PROTOCOLS, START, creatinine

# bench/mutation.py lowers the example count so each mutant's test run stays short.
EXAMPLES = int(os.environ.get("TITRATE_HYPOTHESIS_EXAMPLES", "300"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
ADULT = PROTOCOLS.oral_adult
MAX_COUNT = ADULT.integer("max_doses_per_day")
FEW_DOSES_MAX = ADULT.decimal("few_doses_max_mg_day")


def decimals(low: str, high: str, places: int = 1) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        Decimal(low), Decimal(high), places=places, allow_nan=False, allow_infinity=False
    )


patients = st.builds(
    Patient,
    sex=st.sampled_from(Sex),
    age_years=decimals("0", "110", 2),
    weight_kg=decimals("2", "300"),
    height_cm=st.none() | decimals("45", "230"),
    serum_creatinine=st.none() | decimals("0.1", "15").map(lambda v: creatinine(str(v))),
    creatinine_clearance_ml_min=st.none() | decimals("1", "200"),
    dialysis=st.booleans(),
    conditions=st.lists(st.sampled_from(CONDITIONS), max_size=3, unique=True).map(tuple),
)


def mg_or_none(low: str, high: str) -> st.SearchStrategy[Dose | None]:
    return st.none() | decimals(low, high, 1).map(lambda v: Dose(v, DoseUnit.MG))


@st.composite
def oral_requests(draw: st.DrawFn) -> PlanRequest:
    plan_type = draw(st.sampled_from((PlanType.ORAL_TITRATION, PlanType.ORAL_TAPER)))
    current = draw(mg_or_none("0.1", "150"))
    if plan_type is PlanType.ORAL_TAPER and current is None:
        current = Dose(draw(decimals("0.5", "150", 1)), DoseUnit.MG)
    return PlanRequest(
        plan_type=plan_type,
        start_date=START,
        indication=draw(st.sampled_from(Indication)),
        patient=draw(patients),
        setting=draw(st.sampled_from(Setting)),
        target_daily_dose=draw(mg_or_none("0.1", "110")),
        current_daily_dose=current,
        step_interval_days=draw(st.none() | st.integers(1, 30)),
        doses_per_day=draw(st.none() | st.integers(1, MAX_COUNT)),
        formulation=draw(st.none() | st.sampled_from(Formulation)),
        taper_min_days=draw(st.none() | st.integers(7, 21)),
    )


def _plan(request: PlanRequest) -> Plan | None:
    try:
        first = build_plan(request, PROTOCOLS)
        overrides = tuple(
            Override(f.code, "property test") for f in first.findings if f.overridable
        )
        plan = build_plan(dataclasses.replace(request, overrides=overrides), PROTOCOLS)
    except TitrationError:
        return None
    if plan.status is PlanStatus.BLOCKED:  # hypersensitivity cannot be overridden (titration)
        assert request.plan_type is PlanType.ORAL_TITRATION
        assert "hypersensitivity" in {f.code for f in plan.findings}
        return None
    return plan


def _regimen(request: PlanRequest) -> OralRegimen:
    age = patient_age(request)
    renal = assess_renal(request.patient, age, adult_age_years=18, renal=PROTOCOLS.oral_renal)
    return derive_regimen(age, request.patient.weight_kg, renal.band, PROTOCOLS)


def _form(plan: Plan, child: bool) -> DoseForm:
    preparation = plan.steps[0].administrations[0].preparation
    assert preparation is not None
    if preparation.form is PreparationForm.TABLET:
        return tablet_form(PROTOCOLS.formulations, PROTOCOLS.formulary)
    return solution_form(PROTOCOLS.formulations, PROTOCOLS.formulary, child=child)


def _doses(plan: Plan) -> list[list[Decimal]]:
    return [[a.dose.value for a in step.administrations] for step in plan.steps]


@SETTINGS
@given(oral_requests())
def test_no_single_oral_dose_is_above_its_maximum(request: PlanRequest) -> None:
    plan = _plan(request)
    if plan is None:
        return
    regimen = _regimen(request)
    form = _form(plan, regimen.per_dose_steps)
    for doses in _doses(plan):
        daily = sum(doses, Decimal(0))
        if daily <= MAX_COUNT * regimen.max_single:
            assert max(doses) <= regimen.max_single
        else:  # only a taper from above the maximum: four even doses, each only lowered
            assert request.plan_type is PlanType.ORAL_TAPER
            assert len(doses) == MAX_COUNT
            assert max(doses) <= round_up_to_strength(daily / MAX_COUNT, form.step)
        if len(doses) <= 2:
            assert daily <= FEW_DOSES_MAX


@SETTINGS
@given(oral_requests())
def test_the_dose_count_is_maximal_for_its_step(request: PlanRequest) -> None:
    plan = _plan(request)
    if plan is None or request.doses_per_day is not None:
        return
    regimen = _regimen(request)
    form = _form(plan, regimen.per_dose_steps)
    rule = dose_count_rule(regimen.max_single, child=regimen.per_dose_steps, protocols=PROTOCOLS)
    for doses in _doses(plan):
        daily = sum(doses, Decimal(0))
        for count in range(len(doses) + 1, rule.default(daily) + 1):
            larger = split_daily(daily, count, form, rule.priority)
            safe = (
                min(larger) >= form.step
                and max(larger) <= regimen.max_single
                and (count > 2 or daily <= FEW_DOSES_MAX)
            )
            assert not safe, f"{doses} could be given as {larger}"


@SETTINGS
@given(oral_requests())
def test_a_requested_count_is_kept_wherever_it_is_safe(request: PlanRequest) -> None:
    plan = _plan(request)
    if plan is None or request.doses_per_day is None:
        return
    adjusted = next((f for f in plan.findings if f.code == "doses_per_day_adjusted"), None)
    changed = [
        step.index for step in plan.steps if len(step.administrations) != request.doses_per_day
    ]
    if changed:
        assert adjusted is not None
        assert f"Steps: {', '.join(map(str, changed))}." in adjusted.message
    else:
        assert adjusted is None


@SETTINGS
@given(oral_requests())
def test_every_dose_is_deliverable_and_the_daily_dose_is_their_sum(request: PlanRequest) -> None:
    plan = _plan(request)
    if plan is None:
        return
    form = _form(plan, _regimen(request).per_dose_steps)
    scored = PROTOCOLS.formulary.decimal_lists["scored_tablet_strengths_mg"]
    for step in plan.steps:
        assert step.daily_dose.value == sum(a.dose.value for a in step.administrations)
        for administration in step.administrations:
            dose, preparation = administration.dose.value, administration.preparation
            assert preparation is not None
            assert dose >= form.step
            assert dose % form.step == 0
            if preparation.form is PreparationForm.TABLET:
                assert preparation.tablet_strength is not None
                assert preparation.tablets is not None
                assert preparation.tablet_strength.value * preparation.tablets == dose
                halves = preparation.tablets * 2
                assert halves == halves.to_integral_value()
                if preparation.tablets % 1:
                    assert preparation.tablet_strength.value in scored
            else:
                assert preparation.volume_ml is not None
                assert preparation.concentration is not None
                assert preparation.volume_ml * preparation.concentration.value == dose
    for line in plan.dispense:
        assert line.quantity > 0
        if line.form is PreparationForm.TABLET:
            assert line.quantity == line.quantity.to_integral_value()


@SETTINGS
@given(oral_requests())
def test_every_taper_cut_and_the_final_stop_is_at_most_a_quarter(request: PlanRequest) -> None:
    if request.plan_type is not PlanType.ORAL_TAPER:
        return
    plan = _plan(request)
    if plan is None:
        return
    assert request.current_daily_dose is not None
    start = request.current_daily_dose.value
    dailies = [step.daily_dose.value for step in plan.steps]
    cuts = [start - dailies[0], *(a - b for a, b in itertools.pairwise(dailies)), dailies[-1]]
    assert all(0 < cut <= start / 4 for cut in cuts)
    stop = plan.milestones[-1]
    assert stop.kind is MilestoneKind.STOP
    assert stop.day == plan.steps[-1].end_day + 1
    assert plan.steps[-1].end_day >= (request.taper_min_days or 14)
    blocks = {f.code for f in plan.findings if f.severity is Severity.BLOCK}
    assert blocks <= {"short_taper"}  # A.6.6: a taper is never blocked by a contraindication


@SETTINGS
@given(oral_requests())
def test_the_review_is_on_day_43_at_the_latest(request: PlanRequest) -> None:
    if request.plan_type is not PlanType.ORAL_TITRATION:
        return
    plan = _plan(request)
    if plan is None:
        return
    reviews = [m for m in plan.milestones if m.kind is MilestoneKind.REVIEW]
    assert len(reviews) == 1
    assert reviews[0].day <= 43


@SETTINGS
@given(oral_requests())
def test_childrens_steps_carry_mg_per_kg_and_adults_do_not(request: PlanRequest) -> None:
    plan = _plan(request)
    if plan is None:
        return
    child = _regimen(request).per_dose_steps
    weight = request.patient.weight_kg
    assert weight is not None
    for step in plan.steps:
        if child:
            assert step.mg_per_kg_day is not None
            assert abs(step.mg_per_kg_day - step.daily_dose.value / weight) <= Decimal("0.005")
        else:
            assert step.mg_per_kg_day is None
