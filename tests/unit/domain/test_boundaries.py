"""Boundary tests named by the rules: renal band edges, age 1/8/18, 33 kg, dose limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from app.domain.titration import (
    Age,
    Formulation,
    Indication,
    Override,
    PlanStatus,
    PreparationForm,
    RenalBand,
    Setting,
    TargetAboveHardLimitError,
    age_from_years,
    age_on,
    band_for,
    build_plan,
)
from tests.unit.domain.builders import (
    PROTOCOLS,
    START,
    codes,
    make_patient,
    make_request,
    mg,
    plan_for,
)

D = Decimal


@pytest.mark.parametrize(
    ("crcl", "band"),
    [
        ("80.1", RenalBand.NORMAL),
        ("80.0", RenalBand.MILD),
        ("50.0", RenalBand.MILD),
        ("49.9", RenalBand.MODERATE),
        ("30.0", RenalBand.MODERATE),
        ("29.9", RenalBand.SEVERE),
    ],
)
def test_renal_band_edges_follow_r_in_5(crcl: str, band: RenalBand) -> None:
    assert band_for(D(crcl), PROTOCOLS.oral_renal) is band
    plan = plan_for(patient=make_patient(creatinine_clearance_ml_min=D(crcl)))
    assert (plan.renal.band, plan.renal.method.value) == (band, "entered")


def test_entered_clearance_wins_over_cockcroft_gault() -> None:
    plan = plan_for(patient=make_patient(creatinine_clearance_ml_min=D("45.04")))
    assert plan.renal.crcl_ml_min == D("45.0")
    assert plan.renal.weight_basis.value == "none"


def test_no_creatinine_gives_unknown_band_computed_as_normal() -> None:
    plan = plan_for(patient=make_patient(serum_creatinine=None))
    assert plan.renal.band is RenalBand.UNKNOWN
    assert "renal_function_unknown" in codes(plan)
    assert [s.daily_dose.value for s in plan.steps] == [15, 30, 45, 60]


def test_children_get_no_adult_formula_but_an_entered_clearance_counts() -> None:
    child = make_patient(age_years=D(10), weight_kg=D(30))
    assert plan_for(patient=child).renal.band is RenalBand.UNKNOWN
    mild = make_patient(age_years=D(10), weight_kg=D(30), creatinine_clearance_ml_min=D(60))
    plan = plan_for(patient=mild)
    assert plan.renal.band is RenalBand.MILD
    # R-PED-11: 0.3 mg/kg × 2/3 = 6 mg/day → 1.5 mg QID
    assert [a.dose.value for a in plan.steps[0].administrations] == [D("1.5")] * 4


def test_age_is_exact_on_the_birthday_boundaries() -> None:
    assert age_on(date(2008, 12, 1), START) == Age(18 * 12)
    assert age_on(date(2008, 12, 2), START).years == 17
    assert age_on(date(2025, 12, 1), START).months == 12
    assert age_on(date(2025, 12, 2), START).months == 11
    assert age_from_years(D("1.5")).months == 18


def test_adult_rules_start_on_the_18th_birthday() -> None:
    adult = plan_for(patient=make_patient(birth_date=date(2008, 12, 1), age_years=None))
    assert adult.protocol.id == "oral-adult"
    child = plan_for(patient=make_patient(birth_date=date(2008, 12, 2), age_years=None))
    assert child.protocol.id == "oral-paediatric"
    assert child.limits.max_daily_dose == mg(60)


def test_age_8_switches_the_child_cap_from_40_to_60() -> None:
    eight = make_patient(birth_date=date(2018, 12, 1), age_years=None, weight_kg=D(40))
    assert plan_for(patient=eight).limits.max_daily_dose == mg(60)
    almost = make_patient(birth_date=date(2018, 12, 2), age_years=None, weight_kg=D(40))
    assert plan_for(patient=almost).limits.max_daily_dose == mg(40)


def test_age_1_year_lifts_the_infant_block() -> None:
    one = make_patient(birth_date=date(2025, 12, 1), age_years=None, weight_kg=D(10))
    assert plan_for(patient=one, indication=Indication.CEREBRAL_PALSY).status is PlanStatus.READY
    infant = make_patient(birth_date=date(2025, 12, 2), age_years=None, weight_kg=D(10))
    assert "age_under_1_year" in codes(plan_for(patient=infant))


def test_tablets_from_33_kg_solution_below() -> None:
    at_33 = plan_for(patient=make_patient(age_years=D(12), weight_kg=D(33)))
    assert at_33.steps[0].administrations[0].preparation.form is PreparationForm.TABLET
    below = plan_for(patient=make_patient(age_years=D(12), weight_kg=D("32.9")))
    assert below.steps[0].administrations[0].preparation.form is PreparationForm.ORAL_SOLUTION
    assert "solution_only" in codes(below)


def test_a_requested_tablet_under_33_kg_still_gets_the_solution() -> None:
    plan = plan_for(
        patient=make_patient(age_years=D(40), weight_kg=D(30)), formulation=Formulation.TABLET
    )
    assert plan.steps[0].administrations[0].preparation.form is PreparationForm.ORAL_SOLUTION
    assert "solution_only" in codes(plan)


@pytest.mark.parametrize("target", ["79.5", "80"])
def test_outpatient_targets_up_to_80_mg_are_planned(target: str) -> None:
    plan = plan_for(target_daily_dose=mg(target))
    assert plan.status is PlanStatus.READY
    assert max(s.daily_dose.value for s in plan.steps) <= D(target)


def test_outpatient_target_80_5_mg_is_refused() -> None:
    with pytest.raises(TargetAboveHardLimitError) as error:
        plan_for(target_daily_dose=mg("80.5"))
    assert error.value.code == "target_above_hard_limit"


@pytest.mark.parametrize("target", ["80.5", "99.5", "100"])
def test_inpatient_targets_above_80_are_refused_by_the_20_mg_single_dose_maximum(
    target: str,
) -> None:
    """A.6.2 amends R-OA-6: no single dose above 20 mg and at most 4 doses a day."""
    with pytest.raises(TargetAboveHardLimitError) as error:
        plan_for(setting=Setting.INPATIENT, target_daily_dose=mg(target))
    assert "at most 20 mg each" in str(error.value)


@pytest.mark.parametrize("target", ["80.5", "99.5", "100"])
def test_inpatient_targets_above_80_block_until_overridden_where_protocol_allows_25_mg_doses(
    target: str,
) -> None:
    adult = replace(
        PROTOCOLS.oral_adult,
        decimals={**PROTOCOLS.oral_adult.decimals, "max_single_dose_mg": D(25)},
    )
    protocols = replace(PROTOCOLS, oral_adult=adult)
    request = make_request(setting=Setting.INPATIENT, target_daily_dose=mg(target))
    blocked = build_plan(request, protocols)
    assert blocked.status is PlanStatus.BLOCKED
    assert "above_outpatient_maximum" in codes(blocked)
    override = Override("above_outpatient_maximum", "ward, close supervision")
    plan = build_plan(replace(request, overrides=(override,)), protocols)
    assert plan.status is PlanStatus.READY
    assert plan.limits.max_daily_dose == mg(100)
    assert max(s.daily_dose.value for s in plan.steps) <= D(target)


def test_inpatient_target_100_5_mg_is_refused() -> None:
    with pytest.raises(TargetAboveHardLimitError):
        plan_for(setting=Setting.INPATIENT, target_daily_dose=mg("100.5"))


@pytest.mark.parametrize(("target", "allowed"), [("49.5", True), ("50", True), ("50.5", False)])
def test_mild_renal_hard_limit_minus_half_limit_plus_half(target: str, allowed: bool) -> None:
    patient = make_patient(creatinine_clearance_ml_min=D(60))
    if allowed:
        assert plan_for(patient=patient, target_daily_dose=mg(target)).status is PlanStatus.READY
    else:
        with pytest.raises(TargetAboveHardLimitError):
            plan_for(patient=patient, target_daily_dose=mg(target))


def test_elderly_inpatient_cannot_go_above_80() -> None:
    with pytest.raises(TargetAboveHardLimitError):
        plan_for(
            patient=make_patient(age_years=D(70)),
            setting=Setting.INPATIENT,
            target_daily_dose=mg(90),
        )


def test_a_target_below_the_start_dose_is_a_single_step() -> None:
    plan = plan_for(target_daily_dose=mg(10))
    assert [s.daily_dose.value for s in plan.steps] == [10]
    assert [a.dose.value for a in plan.steps[0].administrations] == [5, 5]


def test_the_prescriber_may_ask_for_fewer_doses_a_day_only_up_to_10_mg() -> None:
    plan = plan_for(doses_per_day=1, target_daily_dose=mg(10))
    assert [[a.dose.value for a in s.administrations] for s in plan.steps] == [[10]]
    adjusted = plan_for(doses_per_day=1)
    assert [len(s.administrations) for s in adjusted.steps] == [3, 3, 3, 3]
    assert "doses_per_day_adjusted" in codes(adjusted)
