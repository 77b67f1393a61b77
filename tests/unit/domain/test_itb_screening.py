"""Intrathecal screening (A.3, R-IT-S1..S5): one bolus a day of the 50 mcg/mL solution."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from app.domain.titration import (
    Indication,
    IntrathecalInput,
    InvalidInputError,
    PlanType,
    PreparationForm,
    TimeOfDay,
)
from app.domain.titration.plan import (
    Administration,
    Concentration,
    DispenseLine,
    Limits,
    Preparation,
    Step,
)
from app.domain.titration.units import Dose, DoseUnit
from tests.unit.domain.builders import START, make_patient, plan_for

D = Decimal
FIFTY_PER_ML = Concentration(D(50), DoseUnit.MCG)
ADULT = make_patient(age_years=D(34), weight_kg=D(75), spinal_injury_level="T4")
CHILD = make_patient(
    age_years=D(10), weight_kg=D(30), serum_creatinine=None, creatinine_clearance_ml_min=D(100)
)


def screening(patient: object, responses: tuple[bool, ...] = ()):  # type: ignore[no-untyped-def]
    return plan_for(
        plan_type=PlanType.ITB_SCREENING, patient=patient,
        indication=Indication.SPINAL_CORD_INJURY,
        intrathecal=IntrathecalInput(screening_responses=responses),
    )  # fmt: skip


def bolus_step(day: int, mcg: int) -> Step:
    volume = D(mcg) / 50
    return Step(
        index=day, start_day=day, end_day=day,
        start_date=START + timedelta(days=day - 1), end_date=START + timedelta(days=day - 1),
        daily_dose=Dose(D(mcg), DoseUnit.MCG),
        administrations=(
            Administration(
                TimeOfDay.BOLUS, Dose(D(mcg), DoseUnit.MCG),
                Preparation(
                    PreparationForm.INTRATHECAL_SOLUTION, concentration=FIFTY_PER_ML,
                    volume_ml=volume,
                ),
            ),
        ),
        dispense=(
            DispenseLine(PreparationForm.INTRATHECAL_SOLUTION, volume, "mL",
                         concentration=FIFTY_PER_ML),
        ),
    )  # fmt: skip


def test_an_adult_is_screened_with_50_75_100_mcg_one_bolus_a_day_in_ml_of_50_mcg_per_ml() -> None:
    plan = screening(ADULT)
    assert plan.steps == (bolus_step(1, 50), bolus_step(2, 75), bolus_step(3, 100))
    assert plan.limits == Limits(Dose(D(100), DoseUnit.MCG), None)  # R-IT-S5 maximum bolus
    assert plan.milestones == ()


def test_a_child_is_screened_with_four_boluses_from_25_mcg() -> None:
    plan = screening(CHILD)
    assert plan.steps == tuple(
        bolus_step(day, mcg) for day, mcg in enumerate((25, 50, 75, 100), start=1)
    )


def test_screening_stops_at_the_first_positive_bolus() -> None:
    assert screening(CHILD, (False, True)).steps == (bolus_step(1, 25), bolus_step(2, 50))


@pytest.mark.parametrize(
    "responses", [(False, True, False), (True, False), (False, False, False, False)]
)
def test_responses_after_a_positive_or_beyond_the_boluses_are_refused(
    responses: tuple[bool, ...],
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        screening(ADULT, responses)
    assert refused.value.field == "intrathecal.screening_responses"
    assert str(refused.value) == (
        "Screening responses: at most one per bolus, and none after the first positive."
    )
