"""Oral taper (A.2, A.6.5, A.6.6): the patient's own regimen, form and words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.titration import (
    InvalidInputError,
    MilestoneKind,
    MissingInputError,
    Plan,
    PlanType,
    PreparationForm,
    WrongUnitError,
)
from app.domain.titration.plan import Limits
from app.domain.titration.units import Dose, DoseUnit
from tests.unit.domain.builders import codes, make_patient, mcg, mg, plan_for

D = Decimal


def taper(current: str, **overrides: object) -> Plan:
    return plan_for(plan_type=PlanType.ORAL_TAPER, current_daily_dose=mg(current), **overrides)


def test_an_outpatient_above_the_outpatient_cap_is_told_the_dose_and_the_cap() -> None:
    (finding,) = (f for f in taper("90").findings if f.code == "current_dose_above_maximum")
    assert finding.message.endswith(" Current dose 90 mg/day; maximum 80 mg/day.")


def test_the_cap_of_a_patients_renal_band_applies_to_the_taper() -> None:
    severe = make_patient(serum_creatinine=None, creatinine_clearance_ml_min=D(20))
    assert "current_dose_above_maximum" in codes(taper("30", patient=severe))
    assert "current_dose_above_maximum" not in codes(taper("30"))


def test_a_light_child_tapers_on_the_solution_even_from_a_tablet_dose() -> None:
    child = make_patient(
        age_years=D(10), weight_kg=D(25), serum_creatinine=None,
        creatinine_clearance_ml_min=D(100),
    )  # fmt: skip
    plan = taper("20", patient=child)
    forms = {a.preparation.form for s in plan.steps for a in s.administrations if a.preparation}
    assert forms == {PreparationForm.ORAL_SOLUTION}
    assert "solution_only" in codes(plan)


def test_a_taper_outside_7_to_21_days_is_refused_saying_the_range() -> None:
    with pytest.raises(InvalidInputError) as refused:
        taper("30", taper_min_days=6)
    assert (refused.value.field, str(refused.value)) == (
        "taper_min_days", "The taper takes 7 to 21 days.",
    )  # fmt: skip


def test_a_taper_without_a_reason_or_pregnancy_ends_with_the_general_stop() -> None:
    (stop,) = (m for m in taper("30").milestones if m.kind is MilestoneKind.STOP)
    assert stop.text.startswith("Stop: the taper is complete (R-STOP-4). ")


def test_an_adults_tablet_taper_runs_from_the_current_dose_to_zero_without_extras() -> None:
    plan = taper("30")
    assert plan.limits == Limits(Dose(D(30), DoseUnit.MG), Dose(D(0), DoseUnit.MG))
    assert all(step.mg_per_kg_day is None for step in plan.steps)  # only children's steps
    assert "solution_only" not in codes(plan)


@pytest.mark.parametrize(
    ("current", "error", "message"),
    [
        (None, MissingInputError, "A taper needs the current daily dose."),
        (mg(0), InvalidInputError, "The current daily dose must be above 0 mg."),
        (mcg(30), WrongUnitError, "current_daily_dose is in mcg; this plan takes mg only."),
    ],
)
def test_a_taper_without_a_usable_current_dose_is_refused_naming_it(
    current: Dose | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as refused:
        plan_for(plan_type=PlanType.ORAL_TAPER, current_daily_dose=current)
    assert (refused.value.field, str(refused.value)) == ("current_daily_dose", message)  # type: ignore[attr-defined]
