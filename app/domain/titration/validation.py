"""Input checks the engine relies on; anything else is the shell's plausibility check."""

from __future__ import annotations

import re

from app.domain.titration.age import Age, age_from_years, age_on
from app.domain.titration.errors import InvalidInputError, MissingInputError
from app.domain.titration.model import CONDITIONS, PlanRequest

MAX_AGE_YEARS = 130  # data-entry plausibility, as the patient record (app/domain/patients.py)
_SPINAL_LEVEL = re.compile(r"^(C[1-8]|T([1-9]|1[0-2])|L[1-5]|S[1-5])$")


def patient_age(request: PlanRequest) -> Age:
    """Exact age on the start date from the birth date, else from ``age_years``."""
    patient = request.patient
    if patient.birth_date is not None:
        if patient.birth_date > request.start_date:
            raise InvalidInputError("The birth date is after the start date.", field="birth_date")
        age = age_on(patient.birth_date, request.start_date)
    elif patient.age_years is not None:
        if patient.age_years < 0:
            raise InvalidInputError("Age cannot be negative.", field="age_years")
        age = age_from_years(patient.age_years)
    else:
        raise MissingInputError("Give the birth date or the age in years.", field="birth_date")
    if age.years > MAX_AGE_YEARS:
        raise InvalidInputError(f"Age above {MAX_AGE_YEARS} years.", field="birth_date")
    return age


def validate_request(request: PlanRequest, *, max_doses_per_day: int) -> None:
    """Refuse values no rule can plan for (non-positive measurements, unknown codes)."""
    patient = request.patient
    measurements = {
        "weight_kg": patient.weight_kg,
        "height_cm": patient.height_cm,
        "creatinine_clearance_ml_min": patient.creatinine_clearance_ml_min,
        "serum_creatinine": patient.serum_creatinine.value if patient.serum_creatinine else None,
    }
    for field, value in measurements.items():
        if value is not None and not (value.is_finite() and value > 0):
            raise InvalidInputError(f"{field} must be a number above 0.", field=field)
    unknown = sorted(set(patient.conditions) - set(CONDITIONS))
    if unknown:
        raise InvalidInputError(f"Unknown conditions: {', '.join(unknown)}.", field="conditions")
    level = patient.spinal_injury_level
    if level is not None and not _SPINAL_LEVEL.match(level):
        raise InvalidInputError(f"Unknown spinal level {level!r}.", field="spinal_injury_level")
    if patient.brain_injury_date is not None and patient.brain_injury_date > request.start_date:
        raise InvalidInputError(
            "The brain injury date is after the start date.", field="brain_injury_date"
        )
    if request.doses_per_day is not None and not 1 <= request.doses_per_day <= max_doses_per_day:
        raise InvalidInputError(f"Doses a day: 1 to {max_doses_per_day}.", field="doses_per_day")
    if request.step_interval_days is not None and request.step_interval_days < 1:
        raise InvalidInputError(
            "The step interval must be at least 1 day.", field="step_interval_days"
        )
