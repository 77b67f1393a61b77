"""The subscribable calendar feed (API.md §5.3): a secret, revocable address, no token."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord
from tests.exports.conftest import store_plan


def _feed(client: TestClient, headers: dict[str, str], patient_id: int) -> str:
    made = client.post(f"/api/v1/patients/{patient_id}/calendar-feed", headers=headers)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["qr_svg"].startswith("<svg")
    url: str = body["url"]
    assert url.startswith("http://testserver/api/v1/calendar-feeds/")
    return url


def _patient_id(client: TestClient, headers: dict[str, str], plan_id: int) -> int:
    return int(client.get(f"/api/v1/plans/{plan_id}", headers=headers).json()["patient_id"])


def test_the_feed_serves_the_current_schedules_without_a_token_and_names_no_patient(
    client: TestClient, api_headers: dict[str, str], db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    patient_id = _patient_id(client, api_headers, plan.id)
    url = _feed(client, api_headers, patient_id)
    with caplog.at_level(logging.INFO, logger="titrate.http"):
        served = client.get(url)  # no Authorization header
    assert served.status_code == 200, served.text
    assert served.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(served.content)
    uids = {str(e["UID"]) for e in calendar.walk("VEVENT")}
    assert f"plan-{plan.id}-step-1-morning@titrate" in uids
    text = served.text
    for private in (plan.patient["family_name"], plan.patient["given_name"], plan.patient["mrn"],
                    plan.patient["birth_date"]):  # fmt: skip
        assert private not in text
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert token not in caplog.text, "the secret is never logged"
    fetches = db.scalars(
        select(AuditEventRecord).where(AuditEventRecord.action == "calendar_feed.fetch")
    ).all()
    assert [f.patient_id for f in fetches][-1:] == [patient_id]
    german = client.get(f"{url}?lang=de")
    assert "Tablette" in german.text


def test_a_new_address_revokes_the_old_one_and_delete_revokes_it(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "itb_titration")
    patient_id = _patient_id(client, api_headers, plan.id)
    first = _feed(client, api_headers, patient_id)
    second = _feed(client, api_headers, patient_id)
    assert first != second
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    revoked = client.delete(f"/api/v1/patients/{patient_id}/calendar-feed", headers=api_headers)
    assert revoked.status_code == 204
    assert client.get(second).status_code == 404
    again = client.delete(f"/api/v1/patients/{patient_id}/calendar-feed", headers=api_headers)
    assert again.status_code == 404


def test_only_plans_write_makes_a_feed_and_a_guessed_address_is_not_found(
    client: TestClient, api_headers: dict[str, str], db: Session, auth_headers_factory: object
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    patient_id = _patient_id(client, api_headers, plan.id)
    reader = auth_headers_factory("plans:read")  # type: ignore[operator]
    refused = client.post(f"/api/v1/patients/{patient_id}/calendar-feed", headers=reader)
    assert refused.status_code == 403
    guessed = client.get("/api/v1/calendar-feeds/" + "A" * 43 + ".ics")
    assert guessed.status_code == 404
    assert guessed.headers["content-type"] == "application/problem+json"


def test_the_prescriber_gets_the_address_and_its_qr_code_from_the_plan_page(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    from tests.factories.sessions import log_in

    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    token = log_in(client, "paula.prescriber")
    page = client.get(f"/plans/{plan.id}")
    assert "Calendar subscription for the patient" in page.text
    patient_id = _patient_id(client, api_headers, plan.id)
    shown = client.post(f"/patients/{patient_id}/calendar-feed", data={"csrf_token": token})
    assert shown.status_code == 200, shown.text
    assert "<svg" in shown.text
    url = shown.text.split("<code>", 1)[1].split("</code>", 1)[0]
    client.cookies.clear()
    assert client.get(url).status_code == 200
