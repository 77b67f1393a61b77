"""Input checks the engine relies on (A.6.12): impossible inputs are refused, never planned.

The patient of a request obeys the plausibility limits of a stored patient
(``app/domain/plausibility.py``); every date lies in 1900–2200; pregnancy and breastfeeding
apply to female patients only. Each refusal names its field.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from app.domain.plausibility import (
    CLEARANCE_ML_MIN,
    CREATININE_RANGE,
    EARLIEST_DATE,
    HEIGHT_CM,
    LATEST_DATE,
    MAX_AGE_YEARS,
    WEIGHT_KG,
    date_in_range,
    within,
)
from app.domain.titration.age import Age, age_from_years, age_on
from app.domain.titration.errors import InvalidInputError, MissingInputError
from app.domain.titration.model import CONDITIONS, PlanRequest, Sex
from app.domain.titration.units import plain_number

_SPINAL_LEVEL = re.compile(r"^(C[1-8]|T([1-9]|1[0-2])|L[1-5]|S[1-5])$")


def patient_age(request: PlanRequest) -> Age:
    """Exact age on the start date from the birth date, else from ``age_years``."""
    patient = request.patient
    if patient.birth_date is not None:
        if patient.birth_date > request.start_date:
            raise InvalidInputError("The birth date is after the start date.", field="birth_date")
        age = age_on(patient.birth_date, request.start_date)
    elif patient.age_years is not None:
        if not 0 <= patient.age_years <= MAX_AGE_YEARS:
            raise InvalidInputError(f"Age must be 0–{MAX_AGE_YEARS} years.", field="age_years")
        age = age_from_years(patient.age_years)
    else:
        raise MissingInputError("Give the birth date or the age in years.", field="birth_date")
    if age.years > MAX_AGE_YEARS:
        raise InvalidInputError(f"Age above {MAX_AGE_YEARS} years.", field="birth_date")
    return age


def validate_request(request: PlanRequest, *, max_doses_per_day: int) -> None:
    """Refuse values no rule can plan for (implausible measurements and dates, unknown codes,
    a pregnant male)."""
    patient = request.patient
    _check_dates(request)
    _check_measurements(request)
    if patient.sex is Sex.MALE and (patient.pregnant or patient.breastfeeding):
        raise InvalidInputError(
            "Pregnancy and breastfeeding apply to female patients only.",
            field="patient.pregnant" if patient.pregnant else "patient.breastfeeding",
        )
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


def _check_dates(request: PlanRequest) -> None:
    dates: dict[str, date | None] = {
        "start_date": request.start_date,
        "patient.birth_date": request.patient.birth_date,
        "patient.brain_injury_date": request.patient.brain_injury_date,
    }
    for field, day in dates.items():
        if day is not None and not date_in_range(day):
            raise InvalidInputError(
                f"Dates must lie between {EARLIEST_DATE.isoformat()} and "
                f"{LATEST_DATE.isoformat()}.",
                field=field,
            )


def _check_measurements(request: PlanRequest) -> None:
    """The plausibility limits of a stored patient (weight, height, clearance, creatinine)."""
    patient = request.patient
    measurements: dict[str, tuple[Decimal | None, tuple[Decimal, Decimal], str]] = {
        "weight_kg": (patient.weight_kg, WEIGHT_KG, "kg"),
        "height_cm": (patient.height_cm, HEIGHT_CM, "cm"),
        "creatinine_clearance_ml_min": (
            patient.creatinine_clearance_ml_min, CLEARANCE_ML_MIN, "mL/min"
        ),
    }  # fmt: skip
    creatinine = patient.serum_creatinine
    if creatinine is not None:
        measurements["serum_creatinine"] = (
            creatinine.value,
            CREATININE_RANGE[creatinine.unit.value],
            creatinine.unit.value,
        )
    for field, (value, limits, unit) in measurements.items():
        # A clearance of 0 is plausible for a record but nothing can be planned from it.
        if value is not None and not (within(value, limits) and value > 0):
            low, high = limits
            raise InvalidInputError(
                f"{field} must be above 0 and within {plain_number(low)}–"
                f"{plain_number(high)} {unit}.",
                field=f"patient.{field}",
            )
