"""Every refusal of impossible input (A.6.12, validation.py) names the field a form or an API
client marks, and says what is wrong in words a clinician reads (issue 11, item 8)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.domain.titration import (
    CreatinineUnit,
    MissingInputError,
    SerumCreatinine,
    Sex,
    TitrationError,
    build_plan,
)
from tests.unit.domain.builders import PROTOCOLS, START, make_patient, make_request

D = Decimal


def patient(**overrides: Any) -> dict[str, Any]:
    return {"patient": make_patient(**overrides)}


REFUSALS = [
    (patient(birth_date=date(2027, 1, 1)), "birth_date", "The birth date is after the start date."),
    (patient(age_years=D(131)), "age_years", "Age must be 0–130 years."),
    (patient(age_years=D(-1)), "age_years", "Age must be 0–130 years."),
    ({"start_date": date(2031, 6, 1), **patient(age_years=None, birth_date=date(1900, 1, 1))},
     "birth_date", "Age above 130 years."),
    (patient(sex=Sex.MALE, pregnant=True), "patient.pregnant",
     "Pregnancy and breastfeeding apply to female patients only."),
    (patient(sex=Sex.MALE, breastfeeding=True), "patient.breastfeeding",
     "Pregnancy and breastfeeding apply to female patients only."),
    (patient(conditions=("epilepsy", "gout", "acne")), "conditions",
     "Unknown conditions: acne, gout."),
    (patient(spinal_injury_level="T13"), "spinal_injury_level", "Unknown spinal level 'T13'."),
    (patient(brain_injury_date=date(2026, 12, 2)), "brain_injury_date",
     "The brain injury date is after the start date."),
    ({"doses_per_day": 0}, "doses_per_day", "Doses a day: 1 to 4."),
    ({"doses_per_day": 5}, "doses_per_day", "Doses a day: 1 to 4."),
    ({"step_interval_days": 0}, "step_interval_days", "The step interval must be at least 1 day."),
    # One day is a valid interval, but closer than the adults' protocol allows.
    ({"step_interval_days": 1}, "step_interval_days",
     "Steps may not be closer than every 3 days for this patient."),
    (patient(weight_kg=D(351)), "patient.weight_kg",
     "weight_kg must be above 0 and within 0.3–350 kg."),
    (patient(height_cm=D(19)), "patient.height_cm",
     "height_cm must be above 0 and within 20–250 cm."),
    (patient(serum_creatinine=None, creatinine_clearance_ml_min=D(251)),
     "patient.creatinine_clearance_ml_min",
     "creatinine_clearance_ml_min must be above 0 and within 0–250 mL/min."),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "field", "message"), REFUSALS)
def test_each_impossible_input_is_refused_naming_its_field(
    overrides: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(TitrationError) as refused:
        build_plan(make_request(**overrides), PROTOCOLS)
    assert (refused.value.field, refused.value.message) == (field, message)


def test_an_age_is_required_in_one_of_two_ways() -> None:
    with pytest.raises(MissingInputError) as refused:
        build_plan(make_request(**patient(age_years=None, birth_date=None)), PROTOCOLS)
    assert (refused.value.field, refused.value.message) == (
        "birth_date", "Give the birth date or the age in years."
    )  # fmt: skip


def test_the_edges_themselves_are_not_refused() -> None:
    """A brain injury on the start date, 130 years, 4 doses a day, the plausibility limits,
    the last day of 2200."""
    for overrides in (
        patient(brain_injury_date=START), patient(age_years=D(130)),
        patient(weight_kg=D(350)), patient(height_cm=D(250)),
        patient(serum_creatinine=None, creatinine_clearance_ml_min=D(250)),
        {"start_date": date(2200, 12, 31)},
        {"doses_per_day": 4},
        patient(serum_creatinine=SerumCreatinine(D("0.9"), CreatinineUnit.MG_DL)),
    ):  # fmt: skip
        # Planned, not refused (130 years with this creatinine is blocked for the kidneys).
        assert build_plan(make_request(**overrides), PROTOCOLS).findings, overrides
