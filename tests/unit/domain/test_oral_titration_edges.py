"""Oral titration (A.1, API §5.1) at the edges of its inputs: each refusal names its field,
and a value on the edge of a rule is planned."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest

from app.domain.titration import (
    Indication,
    IntervalTooShortError,
    InvalidInputError,
    Plan,
    TargetAboveHardLimitError,
    WrongUnitError,
)
from tests.unit.domain.builders import codes, make_patient, mcg, mg, plan_for

D = Decimal


def _dailies(plan: Plan) -> list[Decimal]:
    return [step.daily_dose.value for step in plan.steps]


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"current_daily_dose": mcg(25)}, WrongUnitError, "current_daily_dose"),
        ({"target_daily_dose": mcg(60)}, WrongUnitError, "target_daily_dose"),
        ({"step_interval_days": 2}, IntervalTooShortError, "step_interval_days"),
    ],
)
def test_each_refused_titration_input_names_its_field(
    overrides: dict[str, object], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as refused:
        plan_for(**overrides)
    assert refused.value.field == field  # type: ignore[attr-defined]


def test_a_zero_current_dose_is_refused_in_words() -> None:
    with pytest.raises(InvalidInputError) as refused:
        plan_for(current_daily_dose=mg(0))
    assert str(refused.value) == "The current daily dose must be above 0 mg."


def test_a_current_dose_or_target_of_1_mg_a_day_is_planned_on_the_solution() -> None:
    # Above 0 is the rule: 1 mg/day is a (small) dose, given as 0.5 mg of 1 mg/mL twice.
    assert _dailies(plan_for(current_daily_dose=mg(1), target_daily_dose=mg(1))) == [D(1)]
    assert _dailies(plan_for(target_daily_dose=mg(1))) == [D(1)]


def test_a_current_dose_at_the_cap_is_held_without_a_finding() -> None:
    plan = plan_for(current_daily_dose=mg(80), target_daily_dose=mg(80))
    assert _dailies(plan) == [D(80)]
    assert "current_dose_above_maximum" not in codes(plan)


def test_the_population_interval_itself_may_be_asked_for() -> None:
    plan = plan_for(step_interval_days=3)
    assert [(s.start_day, s.end_day) for s in plan.steps][:2] == [(1, 3), (4, 6)]


def test_a_target_above_the_usual_dose_names_the_usual_upper_dose() -> None:
    plan = plan_for(target_daily_dose=mg(75))
    (finding,) = (f for f in plan.findings if f.code == "above_usual_dose")
    assert finding.message.endswith(" Usual upper dose: 60 mg/day.")


def test_a_child_continuing_on_tablets_still_rises_towards_the_target() -> None:
    child = make_patient(
        age_years=D(10), weight_kg=D(40), serum_creatinine=None,
        creatinine_clearance_ml_min=D(100),
    )  # fmt: skip
    plan = plan_for(patient=child, indication=Indication.CEREBRAL_PALSY, current_daily_dose=mg(20))
    dailies = _dailies(plan)
    assert dailies[-1] == D(60)
    # Found by mutation testing: 12 mg/day ÷ 4 = 3 mg a dose rounded down to nothing on 5 mg
    # tablets held 20 mg/day to day 42. The daily step instead, never a rise above it.
    assert dailies[0] == D(20)
    assert all(D(0) < b - a <= D(12) for a, b in pairwise(dailies))


def test_a_zero_target_is_refused_naming_the_target() -> None:
    with pytest.raises(InvalidInputError) as refused:
        plan_for(target_daily_dose=mg(0))
    assert (refused.value.field, str(refused.value)) == (
        "target_daily_dose", "The target daily dose must be above 0 mg.",
    )  # fmt: skip


def test_a_target_above_the_hard_limit_is_refused_naming_the_limit_and_why() -> None:
    with pytest.raises(TargetAboveHardLimitError) as refused:
        plan_for(target_daily_dose=mg(85))
    assert (refused.value.field, str(refused.value)) == (
        "target_daily_dose",
        "Target 85 mg/day is above the hard limit of 80 mg/day for this patient (at most 4 "
        "doses a day of at most 20 mg each).",
    )


def test_the_six_week_review_says_what_to_do_without_benefit() -> None:
    (review,) = plan_for().milestones
    assert (review.day, review.text) == (
        43,
        "Six-week review (R-OA-10): if there is no benefit, taper off over at least 14 days; "
        "never stop abruptly.",
    )


def test_a_childs_target_above_its_age_bands_usual_dose_is_named_with_that_dose() -> None:
    """R-PED-6: a 3-year-old's band (2–6 years) usually goes to 30 mg/day; the cap is
    40 mg/day (2 mg/kg of 20 kg; under 8 years), so 35 mg/day is allowed with the finding."""
    child = make_patient(
        age_years=D(3), weight_kg=D(20), serum_creatinine=None,
        creatinine_clearance_ml_min=D(100),
    )  # fmt: skip
    plan = plan_for(patient=child, indication=Indication.CEREBRAL_PALSY, target_daily_dose=mg(35))
    (finding,) = (f for f in plan.findings if f.code == "above_usual_dose")
    assert finding.message.endswith(" Usual upper dose: 30 mg/day.")
    usual = plan_for(patient=child, indication=Indication.CEREBRAL_PALSY, target_daily_dose=mg(30))
    assert "above_usual_dose" not in codes(usual)


def test_an_older_adults_target_above_their_usual_dose_names_it() -> None:
    """R-OA elderly row: usually up to 40 mg/day (the adults' 60 does not apply)."""
    older = make_patient(age_years=D(70))
    (finding,) = (
        f
        for f in plan_for(patient=older, target_daily_dose=mg(50)).findings
        if f.code == "above_usual_dose"
    )
    assert finding.message.endswith(" Usual upper dose: 40 mg/day.")
    assert "above_usual_dose" not in codes(plan_for(patient=older, target_daily_dose=mg(40)))


def test_a_child_with_moderate_renal_impairment_takes_the_renal_row_too() -> None:
    """R-REN-8 and R-PED-11: the paediatric mg/kg values take the renal factor, and the
    adults' renal row (7-day steps, 30 mg/day target, 40 mg/day cap) still bounds them: a
    60 kg 15-year-old would otherwise go to 60 mg/day in 3-day steps."""
    child = make_patient(
        age_years=D(15), weight_kg=D(60), serum_creatinine=None,
        creatinine_clearance_ml_min=D(40),
    )  # fmt: skip
    plan = plan_for(patient=child, indication=Indication.CEREBRAL_PALSY)
    assert (plan.limits.max_daily_dose, plan.limits.target_daily_dose) == (mg(40), mg(30))
    assert {step.end_day - step.start_day + 1 for step in plan.steps[:-1]} == {7}
    assert _dailies(plan)[-1] == D(30)
