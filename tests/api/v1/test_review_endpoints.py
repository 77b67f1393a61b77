"""POST/GET /api/v1/plans/{id}/reviews: scope plans:review, If-Match, the findings rule."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, PlanRecord
from tests.factories.clinics import (
    default_clinic_id,
    make_clinic_token,
    make_patient_in,
    make_plan_for,
)


@pytest.fixture
def plan(db: Session) -> PlanRecord:
    clinic_id = default_clinic_id(db)
    patient = make_patient_in(db, clinic_id, medications=("oxycodone",))
    return make_plan_for(db, clinic_id, patient.id, acknowledged=("opioid",))


def _headers(db: Session, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_clinic_token(db, default_clinic_id(db), *scopes)}"}


def test_a_review_is_stored_and_listed(client: TestClient, db: Session, plan: PlanRecord) -> None:
    url = f"/api/v1/plans/{plan.id}/reviews"
    body = {"acknowledged": ["opioid"], "note": "Checked against the dispensing record."}
    created = client.post(
        url, json=body, headers=_headers(db, "plans:review") | {"If-Match": '"1"'}
    )
    assert created.status_code == 201, created.text
    review = created.json()
    assert review["version"] == 1
    assert review["plan_id"] == plan.id
    assert review["acknowledged"] == ["opioid"]
    assert review["reviewed_by"] == "clinic_client"
    assert review["reviewed_by_kind"] == "client"
    assert review["reviewed_at"].endswith(("Z", "+00:00"))
    listed = client.get(url, headers=_headers(db, "plans:read"))
    assert listed.status_code == 200
    assert listed.json() == [review]


def test_if_match_names_the_version_reviewed(
    client: TestClient, db: Session, plan: PlanRecord
) -> None:
    url, body = f"/api/v1/plans/{plan.id}/reviews", {"acknowledged": ["opioid"]}
    headers = _headers(db, "plans:review")
    assert client.post(url, json=body, headers=headers).status_code == 428
    assert client.post(url, json=body, headers=headers | {"If-Match": '"2"'}).status_code == 412


def test_every_finding_but_info_must_be_acknowledged(
    client: TestClient, db: Session, plan: PlanRecord
) -> None:
    url = f"/api/v1/plans/{plan.id}/reviews"
    headers = _headers(db, "plans:review") | {"If-Match": '"1"'}
    missing = client.post(url, json={"acknowledged": []}, headers=headers)
    assert missing.status_code == 422
    assert "opioid" in missing.text
    assert client.get(url, headers=_headers(db, "plans:read")).json() == []


def test_writing_plans_does_not_grant_reviewing_them(
    client: TestClient, db: Session, plan: PlanRecord
) -> None:
    headers = _headers(db, "plans:write", "plans:read") | {"If-Match": '"1"'}
    response = client.post(
        f"/api/v1/plans/{plan.id}/reviews", json={"acknowledged": ["opioid"]}, headers=headers
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


def test_reading_the_reviews_is_recorded_as_a_read_of_the_plan(
    client: TestClient, db: Session, plan: PlanRecord
) -> None:
    response = client.get(f"/api/v1/plans/{plan.id}/reviews", headers=_headers(db, "plans:read"))
    assert response.status_code == 200
    reads = db.scalars(
        select(AuditEventRecord.action).where(
            AuditEventRecord.patient_id == plan.patient_id,
            AuditEventRecord.actor_kind == "token",
        )
    ).all()
    assert reads == ["plan.read"]
