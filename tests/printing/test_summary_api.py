"""GET /api/v1/plans/{plan_id}/summary.pdf: the clinician summary for other systems."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.patients import patient_payload
from tests.factories.users import make_token
from tests.printing.summary_web import (
    NAKED_DECIMAL,
    TRAILING_ZERO,
    pdf_text,
    print_events,
    stored_doses,
    stored_version,
)

PATH = "/api/v1/plans/{plan_id}/summary.pdf"


def _headers(db: Session, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(db, *scopes)}"}


def _plan_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plan_type": "oral_titration", "start_date": "2031-03-03",
        "indication": "multiple_sclerosis", "setting": "outpatient",
        "target_daily_dose": {"value": 60, "unit": "mg"}, "acknowledged": ["opioid"],
    }  # fmt: skip
    body.update(overrides)
    return body


@pytest.fixture
def writer(db: Session) -> dict[str, str]:
    return _headers(db, "patients:write", "plans:write")


@pytest.fixture
def reader(db: Session) -> dict[str, str]:
    return _headers(db, "plans:read", "patients:read")


@pytest.fixture
def plan_id(client: TestClient, writer: dict[str, str]) -> int:
    payload = patient_payload(sex="male", weight_kg=80, height_cm=180, medications=["oxycodone"])
    patient = client.post("/api/v1/patients", json=payload, headers=writer)
    assert patient.status_code == 201, patient.text
    url = f"/api/v1/patients/{patient.json()['id']}/plans"
    plan = client.post(url, json=_plan_body(), headers=writer)
    assert plan.status_code == 201, plan.text
    return int(plan.json()["id"])


def test_a_reader_gets_the_pdf_with_every_dose_and_the_protocol(
    client: TestClient, db: Session, reader: dict[str, str], plan_id: int
) -> None:
    response = client.get(PATH.format(plan_id=plan_id), headers=reader)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="plan-{plan_id}-v1-clinician-summary.pdf"'
    )
    text = pdf_text(response.content)
    doses = stored_doses(stored_version(db, plan_id, 1))
    assert "60 mg/day" in doses
    assert [dose for dose in doses if dose not in text] == []
    assert "oral-adult version 1" in text
    assert "opioid" in text
    assert not TRAILING_ZERO.search(text)
    assert not NAKED_DECIMAL.search(text)
    [event] = print_events(db, plan_id)
    assert event.actor_kind == "token"
    assert event.detail == {
        "document": "clinician_summary", "version": 1, "format": "pdf", "language": "en",
    }  # fmt: skip


def test_an_older_version_prints_as_superseded(
    client: TestClient, writer: dict[str, str], reader: dict[str, str], plan_id: int, db: Session
) -> None:
    revision = _plan_body(target_daily_dose={"value": 45, "unit": "mg"}, reason="Too drowsy.")
    headers = {**_headers(db, "plans:write"), "If-Match": '"1"'}
    response = client.post(f"/api/v1/plans/{plan_id}/versions", json=revision, headers=headers)
    assert response.status_code in (200, 201), response.text
    old = pdf_text(client.get(PATH.format(plan_id=plan_id) + "?version=1", headers=reader).content)
    current = pdf_text(client.get(PATH.format(plan_id=plan_id), headers=reader).content)
    assert "SUPERSEDED — do not use" in old
    assert "60 mg/day" in old
    assert "SUPERSEDED — do not use" not in current
    assert "45 mg/day" in current
    assert "Too drowsy." in current


@pytest.mark.parametrize(
    ("query", "status"),
    [("?version=99", 404), ("?version=0", 422), ("?version=abc", 422), ("?version=-1", 422)],
)
def test_a_bad_version_is_a_problem_never_a_500(
    client: TestClient, reader: dict[str, str], plan_id: int, query: str, status: int
) -> None:
    response = client.get(PATH.format(plan_id=plan_id) + query, headers=reader)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == status


def test_an_unknown_plan_is_a_404_problem(client: TestClient, reader: dict[str, str]) -> None:
    response = client.get(PATH.format(plan_id=987654321), headers=reader)
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"


def test_a_token_without_plans_read_is_refused(
    client: TestClient, db: Session, plan_id: int
) -> None:
    response = client.get(PATH.format(plan_id=plan_id), headers=_headers(db, "patients:read"))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get(PATH.format(plan_id=plan_id)).status_code == 401
    assert print_events(db, plan_id) == []


def test_the_openapi_document_describes_the_pdf_and_its_problems(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][PATH]["get"]
    assert operation["responses"]["200"]["content"]["application/pdf"]["schema"] == {
        "type": "string",
        "format": "binary",
    }
    assert {"401", "403", "404", "422"} <= set(operation["responses"])
    assert "SUPERSEDED" in operation["description"]
    version = next(p for p in operation["parameters"] if p["name"] == "version")
    assert version["in"] == "query"
    assert not version.get("required", False)
