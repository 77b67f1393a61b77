"""Made-up patients. Names and MRNs are obviously fictional; never real patient data."""

from __future__ import annotations

import itertools
from typing import Any

_serial = itertools.count(1)


def patient_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_serial)
    payload: dict[str, Any] = {
        "mrn": f"TEST-{n:05d}-{id(overrides) % 9973}",
        "given_name": "Testa",
        "family_name": f"Fictional{n}",
        "birth_date": "1981-05-02",
        "sex": "female",
        "weight_kg": 70,
        "height_cm": 168,
        "serum_creatinine": {"value": 0.9, "unit": "mg/dL", "measured_on": "2026-11-01"},
        "medications": ["amlodipine"],
        "preferred_language": "en",
    }
    payload.update(overrides)
    return payload
