"""Properties over wide random patients (Hypothesis): limits, shape, units, exactness."""

from __future__ import annotations

import dataclasses
import itertools
import os
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.titration import (
    CONDITIONS,
    Dose,
    DoseUnit,
    Formulation,
    Indication,
    IntrathecalInput,
    Override,
    Patient,
    Plan,
    PlanRequest,
    PlanStatus,
    PlanType,
    Setting,
    Sex,
    TitrationError,
    build_plan,
)
from app.domain.titration.oral_doses import solution_form, tablet_form
from app.domain.titration.regimen import derive_regimen
from app.domain.titration.renal import assess_renal
from app.domain.titration.validation import patient_age
from tests.unit.domain.builders import PROTOCOLS, START, creatinine

# bench/mutation.py lowers the example count so each mutant's test run stays short.
EXAMPLES = int(os.environ.get("TITRATE_HYPOTHESIS_EXAMPLES", "300"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
MEDICATIONS = ("oxycodone", "diazepam", "lithium", "ibuprofen", "amlodipine", "levodopa", "zzz")


def decimals(low: str, high: str, places: int = 1) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        Decimal(low), Decimal(high), places=places, allow_nan=False, allow_infinity=False
    )


patients = st.builds(
    Patient,
    sex=st.sampled_from(Sex),
    age_years=decimals("0", "100", 2),
    weight_kg=decimals("3", "250"),
    height_cm=st.none() | decimals("140", "210"),
    serum_creatinine=st.none() | decimals("0.3", "8").map(lambda v: creatinine(str(v))),
    creatinine_clearance_ml_min=st.none() | decimals("5", "150"),
    dialysis=st.booleans(),
    conditions=st.lists(st.sampled_from(CONDITIONS), max_size=3, unique=True).map(tuple),
    medications=st.lists(st.sampled_from(MEDICATIONS), max_size=3).map(tuple),
    spinal_injury_level=st.none() | st.sampled_from(("C5", "T4", "T10", "L1")),
)


@st.composite
def requests(draw: st.DrawFn) -> PlanRequest:
    plan_type = draw(st.sampled_from(PlanType))
    oral = plan_type in (PlanType.ORAL_TITRATION, PlanType.ORAL_TAPER)
    unit = DoseUnit.MG if oral else DoseUnit.MCG
    target = draw(st.none() | decimals("0.5", "110" if oral else "1500", 1))
    return PlanRequest(
        plan_type=plan_type,
        start_date=START,
        indication=draw(st.sampled_from(Indication)),
        patient=draw(patients),
        setting=draw(st.sampled_from(Setting)),
        target_daily_dose=None if target is None else Dose(target, unit),
        current_daily_dose=Dose(draw(decimals("1", "120", 1)), DoseUnit.MG),
        step_interval_days=draw(st.none() | st.integers(3, 14)),
        formulation=draw(st.none() | st.sampled_from(Formulation)),
        intrathecal=IntrathecalInput(
            effective_bolus=Dose(Decimal(draw(st.sampled_from((25, 50, 75, 100)))), DoseUnit.MCG),
            effect_duration_hours=draw(decimals("1", "12")),
            screening_responses=(*draw(st.lists(st.just(False), max_size=2)), True),
        ),
    )


def _plan_or_none(request: PlanRequest) -> Plan | None:
    """Build the plan, overriding every overridable block so the steps get exercised."""
    try:
        first = build_plan(request, PROTOCOLS)
        overrides = tuple(
            Override(f.code, "property test") for f in first.findings if f.overridable
        )
        return build_plan(dataclasses.replace(request, overrides=overrides), PROTOCOLS)
    except TitrationError:
        return None


def _walk(value: Any) -> None:
    assert not isinstance(value, float)
    if dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            _walk(getattr(value, field.name))
    elif isinstance(value, tuple):
        for item in value:
            _walk(item)


@SETTINGS
@given(requests())
def test_plans_keep_their_shape_units_and_exact_sums(request: PlanRequest) -> None:
    plan = _plan_or_none(request)
    if plan is None:
        return
    _walk(plan)
    if plan.status is PlanStatus.BLOCKED:
        assert plan.steps == ()
        return
    expected_unit = DoseUnit.MG if plan.route.value == "oral" else DoseUnit.MCG
    assert plan.unit is expected_unit
    previous_end = 0
    for step in plan.steps:
        assert step.start_day == previous_end + 1
        assert step.end_day >= step.start_day
        previous_end = step.end_day
        assert step.daily_dose.unit is expected_unit
        assert step.daily_dose.value == sum(a.dose.value for a in step.administrations)
        assert all(a.dose.unit is expected_unit and a.dose.value > 0 for a in step.administrations)


@SETTINGS
@given(requests())
def test_oral_doses_are_deliverable_and_never_above_the_hard_cap(request: PlanRequest) -> None:
    plan = _plan_or_none(request)
    if plan is None or plan.route.value != "oral" or not plan.steps:
        return
    child = patient_age(request).is_under(18)
    steps_allowed = {
        tablet_form(PROTOCOLS.formulations, PROTOCOLS.formulary).step,
        solution_form(PROTOCOLS.formulations, PROTOCOLS.formulary, child=child).step,
    }
    for step in plan.steps:
        for administration in step.administrations:
            preparation = administration.preparation
            assert preparation is not None
            if preparation.tablets is not None:
                assert (preparation.tablets * 2) == (preparation.tablets * 2).to_integral_value()
            assert any((administration.dose.value / s) % 1 == 0 for s in steps_allowed)
    if request.plan_type is PlanType.ORAL_TITRATION:
        assert plan.limits.max_daily_dose is not None
        assert max(s.daily_dose.value for s in plan.steps) <= plan.limits.max_daily_dose.value
        assert plan.limits.max_daily_dose.value <= 100


@SETTINGS
@given(requests())
def test_titrations_rise_at_the_interval_and_tapers_fall_over_14_days(request: PlanRequest) -> None:
    plan = _plan_or_none(request)
    if plan is None or not plan.steps:
        return
    doses = [s.daily_dose.value for s in plan.steps]
    if request.plan_type is PlanType.ORAL_TAPER:
        assert doses == sorted(doses, reverse=True)
        assert plan.milestones[-1].day - 1 >= 14
        start = request.current_daily_dose
        assert start is not None
        cuts = [start.value - doses[0], *(a - b for a, b in itertools.pairwise(doses))]
        assert all(0 < cut <= start.value / 4 for cut in cuts)
    else:
        assert doses == sorted(doses)
    if request.plan_type is PlanType.ORAL_TITRATION:
        age = patient_age(request)
        renal = assess_renal(request.patient, age, adult_age_years=18, renal=PROTOCOLS.oral_renal)
        regimen = derive_regimen(age, request.patient.weight_kg, renal.band, PROTOCOLS)
        interval = request.step_interval_days or regimen.interval_days
        assert all(s.end_day - s.start_day + 1 == interval for s in plan.steps[:-1])
        assert plan.steps[-1].end_day >= 42


@SETTINGS
@given(patients, st.sampled_from(PlanType))
def test_a_blocked_plan_never_has_steps(patient: Patient, plan_type: PlanType) -> None:
    request = PlanRequest(
        plan_type, date(2026, 12, 1), Indication.MULTIPLE_SCLEROSIS, patient,
        current_daily_dose=Dose(Decimal(60), DoseUnit.MG),
        intrathecal=IntrathecalInput(Dose(Decimal(50), DoseUnit.MCG), Decimal(6)),
    )  # fmt: skip
    try:
        plan = build_plan(request, PROTOCOLS)
    except TitrationError:
        return
    if any(f.severity.value == "block" for f in plan.findings):
        assert plan.status is PlanStatus.BLOCKED
        assert plan.steps == plan.milestones == plan.dispense == ()
