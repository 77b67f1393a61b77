"""Fields the server sets cannot be set by a client (BOPLA, RELIABILITY S2 / recipe R1.4).

JSON bodies refuse them (422, nothing written); HTML forms ignore them (the record gets the
server's values). Read responses carry no internal field.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, PatientRecord, PlanRecord, PlanReviewRecord
from tests.factories.access_requests import IF_MATCH, api_body, fill_path
from tests.factories.clinics import (
    default_clinic_id,
    make_clinic,
    make_clinic_records,
    make_clinic_token,
    make_patient_in,
)
from tests.web.helpers import form_data, header_csrf, log_in

SERVER_SET = {
    "id": 4711,
    "clinic_id": 2,
    "created_by": "mallory",
    "approved_by": "mallory",
    "reviewed_by": "mallory",
    "version": 99,
    "content_sha256": "0" * 64,
    "audit_id": 1,
    "audit_event": {"action": "nothing"},
}
INTERNAL = {"clinic_id", "search_text", "lock_version", "input_json", "plan_json", "password_hash"}


def _json_write_routes(app: FastAPI) -> list[tuple[str, str]]:
    routes = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                routes.append((method.upper(), path))
    return routes


def _counts(db: Session) -> tuple[int, ...]:
    models = (PatientRecord, PlanRecord, PlanReviewRecord, AuditEventRecord)
    return tuple(db.scalar(select(func.count()).select_from(model)) or 0 for model in models)


def test_every_json_body_refuses_each_server_set_field(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    own = make_clinic_records(db, default_clinic_id(db))
    headers = {"Authorization": f"Bearer {make_clinic_token(db, own.clinic_id)}"} | IF_MATCH
    ids: dict[str, int | str] = {
        "patient_id": own.patient_id, "plan_id": own.plan_id,
        "protocol_id": "oral-adult", "version": 1,
    }  # fmt: skip
    routes = _json_write_routes(app)
    assert len(routes) >= 10
    before = _counts(db)
    refused = 0
    for method, path in routes:
        for field, value in SERVER_SET.items():
            body = api_body(method, path)
            assert body is not None
            body[field] = value
            response = client.request(method, fill_path(path, ids), json=body, headers=headers)
            assert response.status_code == 422, f"{method} {path} accepted {field}"
            refused += 1
    assert refused == len(routes) * len(SERVER_SET)
    assert _counts(db) == before  # nothing written, not even an audit row


def test_a_nested_patient_cannot_carry_a_clinic_either(client: TestClient, db: Session) -> None:
    headers = {"Authorization": f"Bearer {make_clinic_token(db, default_clinic_id(db))}"}
    body = api_body("POST", "/api/v1/plans/preview")
    assert body is not None
    body["patient"]["clinic_id"] = 2
    response = client.post("/api/v1/plans/preview", json=body, headers=headers)
    assert response.status_code == 422


def test_the_same_bodies_without_the_extra_fields_are_accepted(
    client: TestClient, db: Session
) -> None:
    """The refusals above are about the extra field, not a body that was bad anyway."""
    own = make_clinic_records(db, default_clinic_id(db))
    headers = {"Authorization": f"Bearer {make_clinic_token(db, own.clinic_id)}"}
    created = client.post(
        "/api/v1/patients", json=api_body("POST", "/api/v1/patients"), headers=headers
    )
    assert created.status_code == 201
    review = client.post(
        f"/api/v1/plans/{own.plan_id}/reviews",
        json=api_body("POST", "/api/v1/plans/{plan_id}/reviews"),
        headers=headers | IF_MATCH,
    )
    assert review.status_code == 201


@pytest.mark.parametrize(
    "path", ["/api/v1/patients/{patient_id}", "/api/v1/plans/{plan_id}", "/api/v1/patients"]
)
def test_read_responses_carry_no_internal_field(client: TestClient, db: Session, path: str) -> None:
    own = make_clinic_records(db, default_clinic_id(db))
    headers = {"Authorization": f"Bearer {make_clinic_token(db, own.clinic_id)}"}
    url = fill_path(path, {"patient_id": own.patient_id, "plan_id": own.plan_id})
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    payload = response.json()
    items: list[dict[str, Any]] = payload.get("items", [payload])
    assert items
    for item in items:
        assert INTERNAL.isdisjoint(item), sorted(INTERNAL & set(item))


class TestFormsIgnoreServerSetFields:
    def test_a_new_patient_joins_the_creators_clinic_whatever_the_form_says(
        self, client: TestClient, db: Session
    ) -> None:
        other_clinic = make_clinic(db)
        assert log_in(client, "paula.prescriber").status_code == 303
        csrf = header_csrf(client.get("/patients").text)
        data = form_data(clinic_id=str(other_clinic), version="42", created_by="mallory", id="7")
        response = client.post("/patients", data=data, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 303
        patient = db.scalars(select(PatientRecord).where(PatientRecord.mrn == data["mrn"])).one()
        assert patient.clinic_id == default_clinic_id(db) != other_clinic
        assert patient.version == 1

    def test_a_saved_plan_names_the_prescriber_who_saved_it(
        self, client: TestClient, db: Session
    ) -> None:
        # A patient with no open plan: one open plan per route would refuse the save (422).
        patient = make_patient_in(db, default_clinic_id(db))
        assert log_in(client, "paula.prescriber").status_code == 303
        csrf = header_csrf(client.get("/patients").text)
        data = {
            "plan_type": "oral_titration", "indication": "multiple_sclerosis",
            "setting": "outpatient", "start_date": "2031-03-03", "target_daily_dose": "30",
            "created_by": "mallory", "approved_by": "mallory", "current_version": "9",
        }  # fmt: skip
        response = client.post(
            f"/patients/{patient.id}/plans", data=data, headers={"X-CSRF-Token": csrf}
        )
        assert response.status_code == 303, response.text
        plan_id = int(response.headers["location"].rsplit("/", 1)[1])
        plan = db.get(PlanRecord, plan_id)
        assert plan is not None
        assert (plan.created_by, plan.current_version) == ("paula.prescriber", 1)

    def test_a_review_names_the_pharmacist_who_made_it(
        self, client: TestClient, db: Session
    ) -> None:
        own = make_clinic_records(db, default_clinic_id(db))
        assert log_in(client, "phil.pharmacist").status_code == 303
        csrf = header_csrf(client.get("/patients").text)
        data = {"version": "1", "note": "Checked.", "reviewed_by": "mallory",
                "version_number": "7", "plan_id": "1"}  # fmt: skip
        response = client.post(
            f"/plans/{own.plan_id}/reviews", data=data, headers={"X-CSRF-Token": csrf}
        )
        assert response.status_code == 303, response.text
        review = db.scalars(
            select(PlanReviewRecord).where(PlanReviewRecord.plan_id == own.plan_id)
        ).one()
        assert (review.reviewed_by, review.version_number) == ("phil.pharmacist", 1)
