"""Plausibility rules for a patient record (app/domain/patients.py)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from app.domain.patients import PatientFacts, find_patient_problems

TODAY = date(2026, 11, 22)
VALID = PatientFacts(
    mrn="MRN-1", given_name="Testa", family_name="Fictional", birth_date=date(1980, 1, 1),
    sex="female", weight_kg=Decimal("70"), height_cm=Decimal("168"),
    serum_creatinine_value=Decimal("0.9"), serum_creatinine_unit="mg/dL",
    serum_creatinine_on=date(2026, 11, 1), creatinine_clearance_ml_min=Decimal("90"),
    dialysis=False, pregnant=False, breastfeeding=False, conditions=("diabetes",),
    medications=("amlodipine",), spinal_injury_level="T4", brain_injury_on=date(2020, 1, 1),
    preferred_language="de",
)  # fmt: skip


def problem_fields(**changes: object) -> set[str]:
    facts = dataclasses.replace(VALID, **changes)  # type: ignore[arg-type]
    return {problem.field for problem in find_patient_problems(facts, today=TODAY)}


def test_a_plausible_patient_has_no_problems() -> None:
    assert problem_fields() == set()


def test_optional_values_may_be_missing() -> None:
    missing = dict.fromkeys(
        ("weight_kg", "height_cm", "serum_creatinine_value", "serum_creatinine_unit",
         "serum_creatinine_on", "creatinine_clearance_ml_min", "spinal_injury_level",
         "brain_injury_on"),
        None,
    )  # fmt: skip
    assert problem_fields(**missing) == set()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mrn": ""}, "mrn"),
        ({"mrn": "has space"}, "mrn"),
        ({"given_name": "   "}, "given_name"),
        ({"family_name": "x" * 101}, "family_name"),
        ({"sex": "other"}, "sex"),
        ({"preferred_language": "fr"}, "preferred_language"),
        ({"indication": "migraine"}, "indication"),
        ({"birth_date": date(2026, 11, 23)}, "birth_date"),
        (
            {"birth_date": date(1890, 1, 1), "brain_injury_on": None, "serum_creatinine_on": None},
            "birth_date",
        ),
        ({"brain_injury_on": date(1979, 12, 31)}, "brain_injury_date"),
        ({"brain_injury_on": date(2026, 11, 23)}, "brain_injury_date"),
        ({"weight_kg": Decimal("0.2")}, "weight_kg"),
        ({"weight_kg": Decimal("350.1")}, "weight_kg"),
        ({"height_cm": Decimal("19")}, "height_cm"),
        ({"creatinine_clearance_ml_min": Decimal("-1")}, "creatinine_clearance_ml_min"),
        ({"creatinine_clearance_ml_min": Decimal("251")}, "creatinine_clearance_ml_min"),
        ({"serum_creatinine_unit": None}, "serum_creatinine"),
        ({"serum_creatinine_value": Decimal("31")}, "serum_creatinine"),
        (
            {"serum_creatinine_value": Decimal("3"), "serum_creatinine_unit": "umol/L"},
            "serum_creatinine",
        ),
        ({"serum_creatinine_on": date(2026, 11, 23)}, "serum_creatinine_on"),
        ({"pregnant": True, "sex": "male"}, "pregnant"),
        ({"breastfeeding": True, "sex": "male"}, "pregnant"),
        ({"conditions": ("gout",)}, "conditions"),
        ({"medications": ("",)}, "medications"),
        ({"medications": tuple(f"drug{i}" for i in range(51))}, "medications"),
        ({"spinal_injury_level": "T13"}, "spinal_injury_level"),
    ],
)
def test_implausible_values_are_named_by_field(changes: dict[str, object], field: str) -> None:
    assert field in problem_fields(**changes)


def test_creatinine_in_umol_per_litre_is_accepted_in_its_own_range() -> None:
    assert (
        problem_fields(serum_creatinine_value=Decimal("97"), serum_creatinine_unit="umol/L")
        == set()
    )


def test_a_pregnant_female_patient_is_plausible() -> None:
    assert problem_fields(pregnant=True, breastfeeding=False) == set()


def test_a_stored_indication_is_one_of_the_planners_codes() -> None:
    assert problem_fields(indication="multiple_sclerosis") == set()


def problems(**changes: object) -> list[tuple[str, str]]:
    facts = dataclasses.replace(VALID, **changes)  # type: ignore[arg-type]
    return [(p.field, p.message) for p in find_patient_problems(facts, today=TODAY)]


NO_DATES = {"brain_injury_on": None, "serum_creatinine_on": None}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"mrn": "has space"}, ("mrn", "MRN: 1–40 letters, digits, '.', '/' or '-'.")),
        ({"given_name": ""}, ("given_name", "Enter a name of 1–100 characters.")),
        ({"sex": "other"}, ("sex", "Sex must be female or male.")),
        ({"preferred_language": "fr"}, ("preferred_language", "Language must be en, de or vi.")),
        ({"indication": "migraine"}, ("indication", "Choose one of the listed indications.")),
        (
            {"birth_date": date(2026, 11, 23), **NO_DATES},
            ("birth_date", "Birth date cannot be in the future."),
        ),
        (
            {"birth_date": date(1895, 12, 31), **NO_DATES},
            ("birth_date", "Birth date is more than 130 years ago."),
        ),
        (
            {"brain_injury_on": date(2026, 11, 23)},
            ("brain_injury_date", "Brain injury date must lie between birth and today."),
        ),
        ({"weight_kg": Decimal("351")}, ("weight_kg", "Weight must be between 0.3 and 350 kg.")),
        ({"height_cm": Decimal("251")}, ("height_cm", "Height must be between 20 and 250 cm.")),
        (
            {"creatinine_clearance_ml_min": Decimal("251")},
            ("creatinine_clearance_ml_min", "Creatinine clearance must be 0–250 mL/min."),
        ),
        (
            {"serum_creatinine_unit": "mmol/L"},
            ("serum_creatinine", "Give the creatinine unit: mg/dL or umol/L."),
        ),
        (
            {"serum_creatinine_value": Decimal("31")},
            ("serum_creatinine", "Serum creatinine must be 0.05–30 mg/dL."),
        ),
        (
            {"serum_creatinine_on": date(1979, 12, 31)},
            ("serum_creatinine_on", "Creatinine date must lie between birth and today."),
        ),
        (
            {"sex": "male", "breastfeeding": True},
            ("pregnant", "Pregnancy and breastfeeding apply to female patients only."),
        ),
        (
            {"medications": ("x" * 101,)},
            ("medications", "Up to 50 medication names of 1–100 characters each."),
        ),
        ({"conditions": ("gout", "acne")}, ("conditions", "Unknown condition code: acne, gout.")),
        (
            {"spinal_injury_level": "C9"},
            ("spinal_injury_level", "Spinal level like C6, T4, L1 or S2."),
        ),
    ],
)
def test_each_problem_is_one_message_in_the_words_the_form_shows(
    changes: dict[str, object], expected: tuple[str, str]
) -> None:
    assert problems(**changes) == [expected]


@pytest.mark.parametrize(
    "changes",
    [
        {"given_name": "x" * 100, "family_name": "y"},
        # Born today, and a person of exactly 130 (by calendar year), are still plausible.
        {"birth_date": TODAY, **NO_DATES},
        {"birth_date": date(1896, 12, 31), **NO_DATES},
        # An injury or a creatinine on the day of birth or today lies between the two.
        {"brain_injury_on": VALID.birth_date, "serum_creatinine_on": VALID.birth_date},
        {"brain_injury_on": TODAY, "serum_creatinine_on": TODAY},
        {"serum_creatinine_value": Decimal("0.05")},
        {"serum_creatinine_value": Decimal("30")},
        {"medications": ("m" * 100, *(f"drug{i}" for i in range(49)))},
        {"spinal_injury_level": "C8"},
        {"spinal_injury_level": "T12"},
        {"spinal_injury_level": "L5"},
        {"spinal_injury_level": "S1"},
        {"sex": "male", "pregnant": False, "breastfeeding": False},
    ],
)
def test_values_on_the_edge_of_a_limit_are_plausible(changes: dict[str, object]) -> None:
    assert problems(**changes) == []
