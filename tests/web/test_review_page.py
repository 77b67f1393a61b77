"""The pharmacist's review on the plan page: form, refusal, the record shown to every reader."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db.models import PlanRecord
from tests.factories.clinics import default_clinic_id, make_patient_in, make_plan_for
from tests.web.helpers import header_csrf, log_in


@pytest.fixture
def plan(db: Session) -> PlanRecord:
    clinic_id = default_clinic_id(db)
    patient = make_patient_in(db, clinic_id, medications=("oxycodone",))
    return make_plan_for(db, clinic_id, patient.id, acknowledged=("opioid",))


def _as(client: TestClient, username: str) -> dict[str, str]:
    assert log_in(client, username).status_code == 303
    return {"X-CSRF-Token": header_csrf(client.get("/patients").text)}


def _reviews_section(page: str) -> str:
    match = re.search(r'<section id="plan-\d+-reviews".*?</section>', page, re.S)
    assert match, "no reviews section"
    return match.group(0)


def test_a_pharmacist_reviews_the_current_version_from_the_plan_page(
    client: TestClient, plan: PlanRecord
) -> None:
    csrf = _as(client, "phil.pharmacist")
    section = _reviews_section(client.get(f"/plans/{plan.id}").text)
    assert "Version 1 has not been reviewed yet." in section
    assert 'name="acknowledged" value="opioid"' in section
    assert 'value="driving"' not in section  # info findings need no acknowledgement
    assert 'name="version" value="1"' in section
    data = {"version": "1", "acknowledged": "opioid", "note": "Interaction with oxycodone noted."}
    response = client.post(f"/plans/{plan.id}/reviews", data=data, headers=csrf)
    assert response.status_code == 303
    assert response.headers["location"].endswith(f"/plans/{plan.id}")
    section = _reviews_section(client.get(f"/plans/{plan.id}").text)
    assert "not been reviewed" not in section
    assert "phil.pharmacist" in section
    assert "Interaction with oxycodone noted." in section
    assert re.search(
        r'<td>1</td>\s*<td class="outcome-approved">approved</td>\s*<td>phil.pharmacist</td>'
        r"\s*<td>\d{4}-\d\d-\d\d \d\d:\d\d CES?T",
        section,
    )


def test_a_review_without_the_major_finding_is_refused_and_says_why(
    client: TestClient, plan: PlanRecord
) -> None:
    csrf = _as(client, "phil.pharmacist")
    response = client.post(f"/plans/{plan.id}/reviews", data={"version": "1"}, headers=csrf)
    assert response.status_code == 422
    assert 'id="review-error"' in response.text
    assert "Acknowledge every finding: opioid." in response.text
    assert "not been reviewed" in _reviews_section(response.text)


def test_a_stale_review_gets_the_conflict_page(client: TestClient, plan: PlanRecord) -> None:
    csrf = _as(client, "phil.pharmacist")
    data = {"version": "2", "acknowledged": "opioid"}
    response = client.post(f"/plans/{plan.id}/reviews", data=data, headers=csrf)
    assert response.status_code == 409


@pytest.mark.parametrize("username", ["paula.prescriber", "vera.viewer"])
def test_other_roles_see_the_reviews_but_no_form(
    client: TestClient, plan: PlanRecord, username: str
) -> None:
    csrf = _as(client, "phil.pharmacist")
    data = {"version": "1", "acknowledged": "opioid", "note": "<script>alert(1)</script>"}
    assert client.post(f"/plans/{plan.id}/reviews", data=data, headers=csrf).status_code == 303
    client.cookies.clear()
    csrf = _as(client, username)
    section = _reviews_section(client.get(f"/plans/{plan.id}").text)
    assert "phil.pharmacist" in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "<script>alert" not in section
    assert "<form" not in section
    refused = client.post(f"/plans/{plan.id}/reviews", data=data, headers=csrf)
    assert refused.status_code == 403
    assert "it needs: pharmacist" in refused.text


def test_pages_offer_only_what_the_role_may_do(client: TestClient, plan: PlanRecord) -> None:
    _as(client, "vera.viewer")
    page = client.get(f"/plans/{plan.id}").text
    for hidden in (f"/plans/{plan.id}/revise", f"/plans/{plan.id}/hold", "/refill", "Discontinue"):
        assert hidden not in page
    patient = client.get(f"/patients/{plan.patient_id}").text
    assert f"/patients/{plan.patient_id}/edit" not in patient
    assert "/archive" not in patient
    assert "/patients/new" not in client.get("/patients").text
    client.cookies.clear()
    _as(client, "paula.prescriber")
    page = client.get(f"/plans/{plan.id}").text
    assert f"/plans/{plan.id}/revise" in page
    assert f"/plans/{plan.id}/hold" in page
    assert f"/plans/{plan.id}/reviews" not in page  # prescribers do not review their own plans
