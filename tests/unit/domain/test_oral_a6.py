"""Worked tests for CLINICAL_RULES A.6 (oral) and the oral bugs of issue 11, by name."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal

import pytest

from app.domain.titration import (
    DoseNotDeliverableError,
    Formulation,
    Indication,
    InvalidInputError,
    MilestoneKind,
    Override,
    Plan,
    PlanStatus,
    PlanType,
    PreparationForm,
    Setting,
    Severity,
    Sex,
    WrongUnitError,
    build_plan,
)
from app.domain.titration.oral_doses import (
    DoseCountRule,
    choose_strength,
    divide,
    solution_form,
    tablet_form,
)
from tests.unit.domain.builders import (
    PROTOCOLS,
    codes,
    make_patient,
    make_request,
    mcg,
    mg,
    plan_for,
)

D = Decimal
TABLETS = tablet_form(PROTOCOLS.formulations, PROTOCOLS.formulary)


def _child(age: str, weight: str) -> object:
    return make_patient(
        age_years=D(age), weight_kg=D(weight), serum_creatinine=None,
        creatinine_clearance_ml_min=D(100),
    )  # fmt: skip


def _doses(plan: Plan) -> list[list[Decimal]]:
    return [[a.dose.value for a in step.administrations] for step in plan.steps]


def _dailies(plan: Plan) -> list[Decimal]:
    return [step.daily_dose.value for step in plan.steps]


def _finding(plan: Plan, code: str) -> object:
    return next(f for f in plan.findings if f.code == code)


def _taper(current: str, **kwargs: object) -> Plan:
    return plan_for(plan_type=PlanType.ORAL_TAPER, current_daily_dose=mg(current), **kwargs)


# API §5.1: current_daily_dose on oral_titration ------------------------------------------


def test_titration_continues_from_the_current_daily_dose() -> None:
    plan = plan_for(current_daily_dose=mg(25))
    assert _dailies(plan) == [25, 40, 55, 60]
    assert plan.steps[-1].end_day == 42


def test_current_daily_dose_is_rounded_down_to_what_tablets_deliver() -> None:
    plan = plan_for(current_daily_dose=mg(27))
    assert _dailies(plan)[0] == 25
    assert _dailies(plan)[1] == 40


def test_current_dose_at_or_above_the_target_is_held() -> None:
    for current in ("60", "70"):
        plan = plan_for(current_daily_dose=mg(current))
        assert _dailies(plan) == [D(current)]
        assert (plan.steps[0].start_day, plan.steps[0].end_day) == (1, 42)
        assert "current_dose_above_maximum" not in codes(plan)


def test_current_dose_above_the_cap_is_held_at_the_cap_with_a_major_finding() -> None:
    plan = plan_for(current_daily_dose=mg(90))
    assert _doses(plan) == [[20, 20, 20, 20]]
    finding = _finding(plan, "current_dose_above_maximum")
    assert finding.severity is Severity.MAJOR
    assert "90 mg/day" in finding.message


def test_a_child_continues_from_the_current_dose_per_dose() -> None:
    plan = plan_for(
        patient=_child("1.5", "11"), indication=Indication.CEREBRAL_PALSY,
        current_daily_dose=mg("6.4"),
    )  # fmt: skip
    assert [doses[0] for doses in _doses(plan)] == [
        D(x) for x in ("1.6", "2.4", "3.2", "4.0", "4.8", "5.0")
    ]


@pytest.mark.parametrize("value", ["0"])
def test_a_zero_current_dose_is_refused_on_a_titration(value: str) -> None:
    with pytest.raises(InvalidInputError) as error:
        plan_for(current_daily_dose=mg(value))
    assert error.value.field == "current_daily_dose"


def test_a_current_dose_in_mcg_is_refused_on_an_oral_titration() -> None:
    with pytest.raises(WrongUnitError):
        plan_for(current_daily_dose=mcg(25))


# A.6.1 dose count decided at every step ----------------------------------------------------


def test_12_year_old_33kg_never_gets_60mg_once_daily() -> None:
    plan = plan_for(patient=_child("12", "33"), indication=Indication.CEREBRAL_PALSY)
    counts = [len(doses) for doses in _doses(plan)]
    assert counts[0] == 1  # one 5 mg dose: four doses of 2.475 mg cannot be given with tablets
    assert counts[-1] == 4
    assert _doses(plan)[-1] == [15, 15, 15, 15]
    assert max(max(doses) for doses in _doses(plan)) <= 15


def test_10_year_old_35kg_never_gets_30mg_twice_daily() -> None:
    plan = plan_for(patient=_child("10", "35"), indication=Indication.CEREBRAL_PALSY)
    assert all(len(doses) == 4 for doses in _doses(plan)[1:])
    assert max(max(doses) for doses in _doses(plan)) <= 15


def test_a_33kg_child_takes_four_doses_as_soon_as_4_x_5mg_can_be_given() -> None:
    plan = plan_for(patient=_child("12", "33"), indication=Indication.CEREBRAL_PALSY)
    first_four = next(i for i, doses in enumerate(_doses(plan)) if len(doses) == 4)
    assert _doses(plan)[first_four] == [5, 5, 5, 5]
    assert all(len(doses) == 4 for doses in _doses(plan)[first_four:])


def test_childrens_steps_carry_mg_per_kg_day() -> None:
    plan = plan_for(patient=_child("1.5", "11"), indication=Indication.CEREBRAL_PALSY)
    assert plan.steps[0].mg_per_kg_day == D("0.29")  # 3.2 mg / 11 kg
    assert plan.steps[-1].mg_per_kg_day == D("1.82")  # 20 mg / 11 kg
    assert all(step.mg_per_kg_day is None for step in plan_for().steps)


# A.6.2 single-dose maximum and the prescriber's count ------------------------------------


def test_doses_per_day_1_never_gives_80mg_in_one_dose() -> None:
    plan = plan_for(doses_per_day=1, target_daily_dose=mg(80))
    assert max(max(doses) for doses in _doses(plan)) == 20
    assert _doses(plan)[-1] == [20, 20, 20, 20]
    finding = _finding(plan, "doses_per_day_adjusted")
    assert finding.severity is Severity.INFO
    assert "Steps: 1, 2, 3, 4, 5, 6." in finding.message


def test_doses_per_day_2_never_gives_30mg_doses() -> None:
    plan = plan_for(doses_per_day=2)
    assert max(max(doses) for doses in _doses(plan)) <= 20
    assert [len(doses) for doses in _doses(plan)] == [3, 3, 3, 3]


def test_once_or_twice_daily_is_honoured_up_to_10_mg_a_day() -> None:
    plan = plan_for(doses_per_day=2, target_daily_dose=mg(10))
    assert _doses(plan) == [[5, 5]]
    assert "doses_per_day_adjusted" not in codes(plan)


def test_a_requested_count_the_tablets_cannot_deliver_falls_back_to_fewer_doses() -> None:
    plan = plan_for(doses_per_day=4, target_daily_dose=mg(15))
    assert _doses(plan) == [[5, 5, 5]]
    assert "Steps: 1." in _finding(plan, "doses_per_day_adjusted").message


def test_four_doses_are_honoured_where_deliverable_and_only_those_steps_are_named() -> None:
    plan = plan_for(doses_per_day=4)
    assert [len(doses) for doses in _doses(plan)] == [3, 4, 4, 4]
    assert "Steps: 1." in _finding(plan, "doses_per_day_adjusted").message


def test_childrens_single_dose_maximum_is_the_age_cap_over_four() -> None:
    young = plan_for(
        patient=_child("7", "40"), indication=Indication.CEREBRAL_PALSY,
        target_daily_dose=mg(40), doses_per_day=3,
    )  # fmt: skip
    assert max(max(doses) for doses in _doses(young)) <= 10
    assert _doses(young)[-1] == [10, 10, 10, 10]
    older = plan_for(
        patient=_child("8", "40"), indication=Indication.CEREBRAL_PALSY,
        target_daily_dose=mg(60), doses_per_day=3,
    )  # fmt: skip
    assert _doses(older)[-1] == [15, 15, 15, 15]


def test_no_count_can_give_a_dose_above_four_single_maxima() -> None:
    rule = DoseCountRule(3, D(60), 4, 4, D(20), D(10), ("evening",))
    with pytest.raises(DoseNotDeliverableError):
        divide(D(85), None, rule, TABLETS)


# A.6.3 fewest pieces, one strength per dose, dispense per strength -------------------------


@pytest.mark.parametrize(
    ("dose", "strength", "tablets"),
    [("5", "5", "1"), ("10", "10", "1"), ("15", "10", "1.5"), ("20", "20", "1"),
     ("25", "10", "2.5"), ("30", "20", "1.5")],
)  # fmt: skip
def test_each_dose_takes_the_fewest_pieces_of_one_strength(
    dose: str, strength: str, tablets: str
) -> None:
    chosen = choose_strength(D(dose), TABLETS, set())
    assert chosen == D(strength)
    assert D(dose) / chosen == D(tablets)


def test_15mg_is_one_and_a_half_10mg_tablets_not_three_5mg() -> None:
    plan = plan_for()
    preparation = plan.steps[2].administrations[0].preparation
    assert (preparation.tablet_strength, preparation.tablets) == (mg(10), D("1.5"))


def test_20mg_is_one_20mg_tablet_not_four_5mg() -> None:
    preparation = plan_for().steps[3].administrations[0].preparation
    assert (preparation.tablet_strength, preparation.tablets) == (mg(20), 1)


def test_10mg_is_a_whole_10mg_tablet_not_half_a_20mg() -> None:
    assert choose_strength(D(10), TABLETS, {D(20)}) == D(10)


def test_on_a_tie_a_strength_the_plan_already_uses_wins() -> None:
    # A library where 10 mg is 1 x 10 mg or 1 x 10 mg of a second product of the same strength
    # cannot tie; with strengths 10 and 20 scored, 10 mg is whole (10) before half (20).
    form = replace(TABLETS, tablet_strengths=(D(20), D(40)), scored_strengths=(D(20), D(40)))
    assert choose_strength(D(20), form, set()) == D(20)
    assert choose_strength(D(10), form, {D(40)}) == D(20)


def test_dispense_counts_halves_then_rounds_up_per_strength_over_the_plan() -> None:
    plan = plan_for(target_daily_dose=mg(45))
    lines = {line.tablet_strength.value: line.quantity for line in plan.dispense}
    # 5 mg TID x3 d; 10 mg TID x3 d; 15 mg (1.5 x 10 mg) TID for days 7–42
    assert lines == {D(5): 9, D(10): 9 + D("1.5") * 3 * 36}
    assert all(line.quantity == line.quantity.to_integral_value() for line in plan.dispense)


def test_half_tablets_over_two_steps_round_up_once_for_the_plan() -> None:
    plan = plan_for(
        patient=make_patient(creatinine_clearance_ml_min=D(40)), target_daily_dose=mg(15),
        doses_per_day=3,
    )  # fmt: skip
    assert sum(line.quantity for line in plan.dispense) > 0
    assert {line.form for line in plan.dispense} == {PreparationForm.TABLET}


# A.6.4 review at day 43 at the latest ------------------------------------------------------


def test_review_stays_on_day_43_when_titration_is_slow() -> None:
    plan = plan_for(
        patient=make_patient(creatinine_clearance_ml_min=D(40)), target_daily_dose=mg(40)
    )
    assert plan.steps[-1].end_day > 43
    review = next(m for m in plan.milestones if m.kind is MilestoneKind.REVIEW)
    assert review.day == 43


def test_review_is_day_43_on_the_standard_schedule() -> None:
    review = plan_for().milestones[0]
    assert (review.day, review.kind) == (43, MilestoneKind.REVIEW)


# A.6.5 tapers never end abruptly --------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "levels"),
    [("30", [25, 20, 15, 10, 5]), ("80", [60, 40, 20]), ("35", [30, 25, 20, 15, 10, 5]),
     ("70", [55, 40, 25, 10]), ("95", [75, 55, 35, 15]),
     ("37.5", [D("28.5"), D("19.5"), D("10.5"), D("1.5")])],
)  # fmt: skip
def test_taper_from_30_35_37_5_70_95_never_stops_from_above_25_percent(
    current: str, levels: list[Decimal]
) -> None:
    plan = _taper(current)
    assert _dailies(plan) == levels
    start = D(current)
    cuts = [start - levels[0]] + [a - b for a, b in itertools.pairwise(levels)]
    assert all(cut <= start / 4 for cut in [*cuts, levels[-1]])


def test_taper_from_37_5mg_uses_the_solution() -> None:
    assert "solution_only" in codes(_taper("37.5"))


def test_taper_levels_last_max_3_and_ceil_min_days_over_levels() -> None:
    plan = _taper("30")  # 5 levels: ceil(14 / 5) = 3 days each
    assert [(s.start_day, s.end_day) for s in plan.steps][:2] == [(1, 3), (4, 6)]
    assert plan.milestones[0].day == 16
    long = _taper("80", taper_min_days=21)  # 3 levels of 7 days
    assert long.steps[-1].end_day == 21


def test_taper_min_days_below_14_is_a_short_taper_block_overridable_with_a_reason() -> None:
    blocked = _taper("80", taper_min_days=7)
    assert blocked.status is PlanStatus.BLOCKED
    finding = _finding(blocked, "short_taper")
    assert (finding.severity, finding.overridable) == (Severity.BLOCK, True)
    plan = _taper(
        "80", taper_min_days=7, overrides=(Override("short_taper", "serious adverse reaction"),)
    )
    assert plan.status is PlanStatus.READY
    assert plan.steps[-1].end_day >= 7
    assert [s.end_day - s.start_day + 1 for s in plan.steps] == [3, 3, 3]


@pytest.mark.parametrize("days", [6, 22])
def test_taper_min_days_outside_7_to_21_is_refused(days: int) -> None:
    with pytest.raises(InvalidInputError) as error:
        _taper("80", taper_min_days=days)
    assert error.value.field == "taper_min_days"


# A.6.6 a taper is never blocked --------------------------------------------------------------


def test_epileptic_patient_already_on_baclofen_can_get_a_taper() -> None:
    plan = _taper("60", patient=make_patient(conditions=("epilepsy",)))
    assert plan.status is PlanStatus.READY
    assert _finding(plan, "epilepsy").severity is Severity.MAJOR


def test_hypersensitivity_still_allows_a_withdrawal_plan() -> None:
    plan = _taper("60", patient=make_patient(conditions=("hypersensitivity",)))
    assert plan.status is PlanStatus.READY
    finding = _finding(plan, "hypersensitivity")
    assert (finding.severity, finding.overridable) == (Severity.MAJOR, False)


def test_every_titration_block_is_major_in_a_taper() -> None:
    patient = make_patient(
        conditions=("epilepsy", "peptic_ulcer_active"), creatinine_clearance_ml_min=D(20)
    )
    plan = _taper("20", patient=patient, indication=Indication.PARKINSONISM)
    assert plan.status is PlanStatus.READY
    assert not [f for f in plan.findings if f.severity is Severity.BLOCK]
    assert plan.findings[0].severity is Severity.MAJOR


def test_taper_from_above_the_cap_is_major_and_tapers_from_that_dose() -> None:
    plan = _taper("120")
    assert _dailies(plan) == [90, 60, 30]
    assert _finding(plan, "current_dose_above_maximum").severity is Severity.MAJOR
    inpatient = _taper("100", setting=Setting.INPATIENT)
    assert "current_dose_above_maximum" not in codes(inpatient)


def test_a_childs_taper_carries_mg_per_kg() -> None:
    plan = _taper("20", patient=_child("12", "40"))
    assert plan.steps[0].mg_per_kg_day == D("0.38")  # 15 / 40 = 0.375, half-up


def test_pregnant_female_taper_unchanged() -> None:
    patient = make_patient(sex=Sex.FEMALE, pregnant=True)
    assert _dailies(_taper("60", patient=patient)) == [45, 30, 15]


def test_taper_on_solution_when_requested() -> None:
    plan = _taper("30", formulation=Formulation.ORAL_SOLUTION)
    assert _dailies(plan) == [D("22.5"), 15, D("7.5")]


def test_build_plan_with_request_builder() -> None:
    assert build_plan(make_request(), PROTOCOLS).status is PlanStatus.READY
    assert solution_form(PROTOCOLS.formulations, PROTOCOLS.formulary, child=True).step == D("0.1")
