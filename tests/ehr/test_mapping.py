"""The pure half of the import: which values are taken, and when a lab is stale."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.ehr.mapping import (
    ImportedPatient,
    ImportRules,
    Measurement,
    load_import_rules,
    map_patient,
    stale_lab_problems,
)

RULES = load_import_rules()
TODAY = date(2026, 12, 6)


def _patient_with_lab(measured_on: date) -> ImportedPatient:
    lab = Measurement(Decimal("1.1"), "mg/dL", "https://ehr/Observation/1", measured_on)
    return ImportedPatient(
        "src", "M1", "A", "B", date(1960, 1, 1), "female", None, None, lab, (), ()
    )


def test_the_window_is_sourced_protocol_data() -> None:
    assert RULES.max_lab_age_days == 90
    assert "KDIGO" in RULES.source


@given(age=st.integers(min_value=-30, max_value=3650), window=st.integers(1, 365))
def test_a_lab_is_stale_exactly_when_older_than_the_window(age: int, window: int) -> None:
    rules = ImportRules(window, "source")
    problems = stale_lab_problems(
        _patient_with_lab(TODAY - timedelta(days=age)), today=TODAY, rules=rules
    )
    assert bool(problems) == (age > window)


def _obs(value: Any, unit: str, when: str, status: str = "final") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": status,
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "code": unit},
    }


def _map(**observations: list[dict[str, Any]]) -> ImportedPatient:
    patient = {"resourceType": "Patient", "id": "p", "gender": "other", "birthDate": "1970"}
    return map_patient(
        patient,
        source="https://ehr/Patient/p",
        mrn_system="urn:mrn",
        observations={
            f: [(o, f"https://ehr/Observation/{i}") for i, o in enumerate(obs)]
            for f, obs in observations.items()
        },
        medications=[],
    )


@given(
    values=st.lists(
        st.tuples(st.integers(0, 3000), st.decimals(Decimal("1"), Decimal("300"), places=2)),
        min_size=1,
        max_size=6,
        unique_by=lambda item: item[0],
    )
)
def test_the_newest_final_weight_wins_and_keeps_its_exact_value(
    values: list[tuple[int, Decimal]],
) -> None:
    observations = [_obs(v, "kg", (TODAY - timedelta(days=d)).isoformat()) for d, v in values]
    imported = _map(weight_kg=observations)
    days, value = min(values, key=lambda item: item[0])
    assert imported.weight is not None
    assert imported.weight.value == value
    assert imported.weight.effective_on == TODAY - timedelta(days=days)


def test_values_that_cannot_be_taken_as_they_are_are_reported() -> None:
    imported = _map(
        weight_kg=[_obs(Decimal("70.123456"), "kg", "2026-12-01")],
        height_cm=[_obs(Decimal("1.7"), "m", "2026-12-01")],
        serum_creatinine=[
            _obs(88, "µmol/L", "2026-12-01T08:00:00+01:00"),
            _obs(2, "mg/dL", "2026-12-02", status="entered-in-error"),
        ],
    )
    assert imported.weight is None
    assert imported.height is None
    assert imported.creatinine == Measurement(
        Decimal(88), "umol/L", "https://ehr/Observation/0", date(2026, 12, 1)
    )
    assert {p.field for p in imported.problems} == {"sex", "weight_kg", "height_cm"}
    assert imported.birth_date is None  # a year alone is not a date of birth


@given(
    dose=st.decimals(Decimal("0.5"), Decimal("40"), places=1),
    frequency=st.integers(1, 6),
    every_hours=st.sampled_from([None, 4, 6, 8, 12, 24]),
)
def test_the_daily_dose_is_dose_times_administrations_exactly(
    dose: Decimal, frequency: int, every_hours: int | None
) -> None:
    from app.ehr.cds import ordered_dose

    repeat = (
        {"frequency": frequency, "period": 1, "periodUnit": "d"}
        if every_hours is None
        else {"frequency": 1, "period": every_hours, "periodUnit": "h"}
    )
    order = {
        "dosageInstruction": [
            {
                "timing": {"repeat": repeat},
                "doseAndRate": [{"doseQuantity": {"value": dose, "code": "mg"}}],
            }
        ]
    }
    times = frequency if every_hours is None else 24 // every_hours
    ordered = ordered_dose(order)
    assert ordered.daily_mg == dose * times
    assert ordered.per_administration_mg == dose
