"""A patient and a stored plan for the fuzzer to aim at, made through the API itself."""

from __future__ import annotations

from typing import Any

from app.api.v1.plan_schemas import PLAN_EXAMPLE
from tests.factories.patients import patient_payload

# The plan example of the OpenAPI document: an adult target of 60 mg, one major finding
# (opioid) acknowledged, so it stores for a patient who takes an opioid.


def seed_patient_and_plan(client: Any, headers: dict[str, str]) -> tuple[int, int]:
    """`client` is any requests-like client of the app; returns (patient id, plan id)."""
    payload = patient_payload(sex="male", weight_kg=80, height_cm=180, medications=["oxycodone"])
    patient = client.post("/api/v1/patients", json=payload, headers=headers)
    assert patient.status_code == 201, patient.text
    patient_id = int(patient.json()["id"])
    plan = client.post(f"/api/v1/patients/{patient_id}/plans", json=PLAN_EXAMPLE, headers=headers)
    assert plan.status_code == 201, plan.text
    return patient_id, int(plan.json()["id"])
