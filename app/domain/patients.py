"""Plausibility rules for a patient record, shared by the web form and the API.

Types are checked at the edges; these rules catch values that parse but cannot be a real
patient (a birth date in the future, a weight of 4000 kg). Ranges are plausibility limits
for data entry, not clinical thresholds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.domain.plausibility import (
    CLEARANCE_ML_MIN,
    CREATININE_RANGE,
    HEIGHT_CM,
    MAX_AGE_YEARS,
    WEIGHT_KG,
    within,
)

# One list of condition codes for records and plans: the dosing core's.
from app.domain.titration.model import CONDITIONS, Indication

__all__ = [
    "CONDITIONS", "CREATININE_UNITS", "INDICATIONS", "LANGUAGES", "SEXES", "FieldProblem",
    "PatientFacts", "find_patient_problems",
]  # fmt: skip

LANGUAGES = ("en", "de", "vi")
SEXES = ("female", "male")
CREATININE_UNITS = ("mg/dL", "umol/L")
INDICATIONS = tuple(indication.value for indication in Indication)
MAX_MEDICATIONS = 50

_MRN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9./-]{0,39}$")
_SPINAL_LEVEL = re.compile(r"^(C[1-8]|T([1-9]|1[0-2])|L[1-5]|S[1-5])$")
_CREATININE_RANGE = CREATININE_RANGE


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class PatientFacts:
    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    weight_kg: Decimal | None
    height_cm: Decimal | None
    serum_creatinine_value: Decimal | None
    serum_creatinine_unit: str | None
    serum_creatinine_on: date | None
    creatinine_clearance_ml_min: Decimal | None
    dialysis: bool
    pregnant: bool
    breastfeeding: bool
    conditions: tuple[str, ...]
    medications: tuple[str, ...]
    spinal_injury_level: str | None
    brain_injury_on: date | None
    preferred_language: str
    indication: str | None = None  # an Indication code; the planner prefills it


def find_patient_problems(facts: PatientFacts, *, today: date) -> tuple[FieldProblem, ...]:
    checks = (
        _identity_problems(facts),
        _date_problems(facts, today),
        _measurement_problems(facts),
        _creatinine_problems(facts, today),
        _clinical_flag_problems(facts),
    )
    return tuple(problem for group in checks for problem in group)


def _identity_problems(facts: PatientFacts) -> list[FieldProblem]:
    problems = []
    if not _MRN.match(facts.mrn):
        problems.append(FieldProblem("mrn", "MRN: 1–40 letters, digits, '.', '/' or '-'."))
    for field, value in (("given_name", facts.given_name), ("family_name", facts.family_name)):
        if not value.strip() or len(value) > 100:
            problems.append(FieldProblem(field, "Enter a name of 1–100 characters."))
    if facts.sex not in SEXES:
        problems.append(FieldProblem("sex", "Sex must be female or male."))
    if facts.preferred_language not in LANGUAGES:
        problems.append(FieldProblem("preferred_language", "Language must be en, de or vi."))
    if facts.indication is not None and facts.indication not in INDICATIONS:
        problems.append(FieldProblem("indication", "Choose one of the listed indications."))
    return problems


def _date_problems(facts: PatientFacts, today: date) -> list[FieldProblem]:
    problems = []
    if facts.birth_date > today:
        problems.append(FieldProblem("birth_date", "Birth date cannot be in the future."))
    elif today.year - facts.birth_date.year > MAX_AGE_YEARS:
        problems.append(FieldProblem("birth_date", "Birth date is more than 130 years ago."))
    injury = facts.brain_injury_on
    if injury is not None and not facts.birth_date <= injury <= today:
        problems.append(
            FieldProblem("brain_injury_date", "Brain injury date must lie between birth and today.")
        )
    return problems


def _measurement_problems(facts: PatientFacts) -> list[FieldProblem]:
    problems = []
    if facts.weight_kg is not None and not within(facts.weight_kg, WEIGHT_KG):
        problems.append(FieldProblem("weight_kg", "Weight must be between 0.3 and 350 kg."))
    if facts.height_cm is not None and not within(facts.height_cm, HEIGHT_CM):
        problems.append(FieldProblem("height_cm", "Height must be between 20 and 250 cm."))
    clearance = facts.creatinine_clearance_ml_min
    if clearance is not None and not within(clearance, CLEARANCE_ML_MIN):
        problems.append(
            FieldProblem(
                "creatinine_clearance_ml_min", "Creatinine clearance must be 0–250 mL/min."
            )
        )
    return problems


def _creatinine_problems(facts: PatientFacts, today: date) -> list[FieldProblem]:
    value, unit = facts.serum_creatinine_value, facts.serum_creatinine_unit
    if value is None:
        return []
    if unit not in _CREATININE_RANGE:
        return [FieldProblem("serum_creatinine", "Give the creatinine unit: mg/dL or umol/L.")]
    low, high = _CREATININE_RANGE[unit]
    problems = []
    if not low <= value <= high:
        problems.append(
            FieldProblem("serum_creatinine", f"Serum creatinine must be {low}–{high} {unit}.")
        )
    measured = facts.serum_creatinine_on
    if measured is not None and not facts.birth_date <= measured <= today:
        problems.append(
            FieldProblem("serum_creatinine_on", "Creatinine date must lie between birth and today.")
        )
    return problems


def _clinical_flag_problems(facts: PatientFacts) -> list[FieldProblem]:
    problems = []
    if facts.sex != "female" and (facts.pregnant or facts.breastfeeding):
        problems.append(
            FieldProblem("pregnant", "Pregnancy and breastfeeding apply to female patients only.")
        )
    if len(facts.medications) > MAX_MEDICATIONS or any(
        not name.strip() or len(name) > 100 for name in facts.medications
    ):
        problems.append(
            FieldProblem("medications", "Up to 50 medication names of 1–100 characters each.")
        )
    unknown = sorted(set(facts.conditions) - set(CONDITIONS))
    if unknown:
        problems.append(
            FieldProblem("conditions", f"Unknown condition code: {', '.join(unknown)}.")
        )
    level = facts.spinal_injury_level
    if level is not None and not _SPINAL_LEVEL.match(level):
        problems.append(FieldProblem("spinal_injury_level", "Spinal level like C6, T4, L1 or S2."))
    return problems
