"""Stored plans for the export tests, made through the public API as a client system would.

The five kinds of plan the exports must carry, from the worked scenarios of
CLINICAL_RULES.md §12 (made-up patients): an adult oral titration (SC-01), a child on oral
solution (SC-18), a no-benefit taper (SC-25), an adult ITB screening and an ITB titration
after a positive 75 mcg bolus (SC-21). Every major finding is acknowledged, as a prescriber
must before saving.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import PlanVersionRecord
from tests.factories.patients import patient_payload

START = "2026-12-01"
RECORD_ONLY = ("mrn", "given_name", "family_name", "preferred_language")

SCENARIOS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "adult_oral_titration": (
        {"birth_date": "1981-05-02", "sex": "male", "weight_kg": 80, "height_cm": 180,
         "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}, "medications": []},
        {"plan_type": "oral_titration", "indication": "multiple_sclerosis",
         "target_daily_dose": {"value": 60, "unit": "mg"}},
    ),
    "child_on_solution": (
        {"birth_date": "2021-06-01", "sex": "female", "weight_kg": 18, "height_cm": None,
         "serum_creatinine": None, "creatinine_clearance_ml_min": 100, "medications": []},
        {"plan_type": "oral_titration", "indication": "cerebral_palsy"},
    ),
    "oral_taper": (
        {"birth_date": "1982-03-10", "sex": "female", "weight_kg": 70, "height_cm": 168,
         "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}, "medications": []},
        {"plan_type": "oral_taper", "indication": "multiple_sclerosis",
         "current_daily_dose": {"value": 80, "unit": "mg"}, "taper_reason": "no_benefit"},
    ),
    "itb_screening": (
        {"birth_date": "1971-09-14", "sex": "female", "weight_kg": 64, "height_cm": 165,
         "serum_creatinine": {"value": 0.8, "unit": "mg/dL"}, "medications": []},
        {"plan_type": "itb_screening", "indication": "multiple_sclerosis", "intrathecal": {}},
    ),
    "itb_titration": (
        {"birth_date": "1992-04-20", "sex": "male", "weight_kg": 75, "height_cm": 178,
         "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}, "medications": [],
         "spinal_injury_level": "T4"},
        {"plan_type": "itb_titration", "indication": "spinal_cord_injury",
         "intrathecal": {"effective_bolus": {"value": 75, "unit": "mcg"},
                         "effect_duration_hours": 6}},
    ),
}  # fmt: skip


@dataclass(frozen=True)
class StoredPlan:
    id: int
    patient: dict[str, Any]
    plan: dict[str, Any]  # the stored plan_json, decimals as strings
    content_sha256: str

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.plan["steps"])

    @property
    def is_itb(self) -> bool:
        return bool(self.plan["route"] == "intrathecal")


def exact(value: Any) -> Decimal:
    """A stored decimal string or a JSON number parsed as Decimal, normalised for equality."""
    return Decimal(str(value)).normalize()


@pytest.fixture
def api_headers(auth_headers_factory) -> dict[str, str]:  # type: ignore[no-untyped-def]
    headers: dict[str, str] = auth_headers_factory()
    return headers


def store_plan(
    client: TestClient, headers: dict[str, str], db: Session, scenario: str, **plan_changes: Any
) -> StoredPlan:
    facts, body = SCENARIOS[scenario]
    payload = patient_payload(**facts)
    patient = client.post("/api/v1/patients", json=payload, headers=headers)
    assert patient.status_code == 201, patient.text
    body = {**body, "start_date": START, **plan_changes}
    preview_patient = {k: v for k, v in payload.items() if k not in RECORD_ONLY}
    preview = client.post(
        "/api/v1/plans/preview", json={**body, "patient": preview_patient}, headers=headers
    )
    assert preview.status_code == 200, preview.text
    majors = [f["code"] for f in preview.json()["findings"] if f["severity"] == "major"]
    created = client.post(
        f"/api/v1/patients/{patient.json()['id']}/plans",
        json={**body, "acknowledged": majors},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]
    version = db.scalars(
        select(PlanVersionRecord).where(PlanVersionRecord.plan_id == plan_id)
    ).one()
    return StoredPlan(plan_id, payload, json.loads(version.plan_json), version.content_sha256)


@pytest.fixture(params=sorted(SCENARIOS))
def stored(
    request: pytest.FixtureRequest, client: TestClient, api_headers: dict[str, str], db: Session
) -> StoredPlan:
    """Each of the five kinds of plan, stored as version 1."""
    return store_plan(client, api_headers, db, request.param)
