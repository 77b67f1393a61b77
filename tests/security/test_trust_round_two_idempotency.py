"""Issue 13, finding "Idempotency-Key across patients": a key replays only for the same
client, path and body (API.md §5.5); a replay is audited as a read."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, PlanRecord
from tests.api.v1.test_plans import plan_body
from tests.factories.patients import patient_payload

HeadersFactory = Callable[..., dict[str, str]]


def _patient(client: TestClient, headers: dict[str, str], mrn: str) -> int:
    response = client.post(
        "/api/v1/patients",
        json=patient_payload(
            mrn=mrn, sex="male", weight_kg=80, height_cm=180, medications=["oxycodone"]
        ),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_idempotency_key_across_patients_is_a_409_not_another_patients_plan(
    client: TestClient,
    auth_headers_factory: HeadersFactory,
    db: Session,
) -> None:
    headers = auth_headers_factory("patients:write", "plans:write", "plans:read")
    first, second = _patient(client, headers, "IDEM-1"), _patient(client, headers, "IDEM-2")
    keyed = {**headers, "Idempotency-Key": "shared-key"}
    made = client.post(f"/api/v1/patients/{first}/plans", json=plan_body(), headers=keyed)
    assert made.status_code == 201
    for path in (f"/api/v1/patients/{second}/plans", "/api/v1/patients/999999/plans"):
        reused = client.post(path, json=plan_body(), headers=keyed)
        assert reused.status_code == 409, reused.text
        assert reused.json()["code"] == "idempotency_key_reused"
        assert "Idempotent-Replayed" not in reused.headers
    plans_of_second = select(func.count()).where(PlanRecord.patient_id == second)
    assert db.scalar(plans_of_second) == 0


def test_idempotency_key_with_another_body_is_reused(
    client: TestClient,
    auth_headers_factory: HeadersFactory,
) -> None:
    headers = auth_headers_factory("patients:write", "plans:write")
    patient = _patient(client, headers, "IDEM-3")
    keyed = {**headers, "Idempotency-Key": "body-key"}
    assert client.post(f"/api/v1/patients/{patient}/plans", json=plan_body(), headers=keyed)
    other = client.post(
        f"/api/v1/patients/{patient}/plans",
        json=plan_body(start_date="2026-12-02"),
        headers=keyed,
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"


def test_idempotency_replay_is_audited_as_a_read(
    client: TestClient,
    auth_headers_factory: HeadersFactory,
    db: Session,
) -> None:
    headers = auth_headers_factory("patients:write", "plans:write")
    patient = _patient(client, headers, "IDEM-4")
    keyed = {**headers, "Idempotency-Key": "replay-key"}
    path = f"/api/v1/patients/{patient}/plans"
    first = client.post(path, json=plan_body(), headers=keyed)
    mark = db.scalar(select(func.max(AuditEventRecord.id))) or 0
    replay = client.post(path, json=plan_body(), headers=keyed)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    rows = list(db.scalars(select(AuditEventRecord).where(AuditEventRecord.id > mark)))
    assert [(r.action, r.patient_id, r.detail) for r in rows] == [
        ("plan.read", patient, {"idempotent_replay": True})
    ]
