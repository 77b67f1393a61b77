"""Who may export, what unknown plans answer, the web downloads, the audit trail, OpenAPI."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord
from tests.exports.conftest import store_plan
from tests.web.helpers import log_in

PATHS = ("fhir", "calendar.ics")


@pytest.mark.parametrize("path", PATHS)
def test_the_api_needs_a_token_with_plans_read(
    client: TestClient,
    auth_headers_factory,
    api_headers: dict[str, str],
    db: Session,
    path: str,  # type: ignore[no-untyped-def]
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    url = f"/api/v1/plans/{plan.id}/{path}"
    anonymous = client.get(url)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    wrong_scope = client.get(url, headers=auth_headers_factory("patients:read", "plans:write"))
    assert wrong_scope.status_code == 403
    assert wrong_scope.headers["content-type"].startswith("application/problem+json")
    # Exports name or belong to the patient: plans:read alone is not enough (issue 13).
    assert client.get(url, headers=auth_headers_factory("plans:read")).status_code == 403
    reader = auth_headers_factory("plans:read", "patients:read")
    assert client.get(url, headers=reader).status_code == 200


@pytest.mark.parametrize("path", PATHS)
def test_an_unknown_plan_or_version_is_a_404_problem(
    client: TestClient, api_headers: dict[str, str], db: Session, path: str
) -> None:
    plan = store_plan(client, api_headers, db, "itb_titration")
    for url in (f"/api/v1/plans/999999/{path}", f"/api/v1/plans/{plan.id}/{path}?version=2"):
        response = client.get(url, headers=api_headers)
        assert response.status_code == 404, url
        assert response.json()["type"] == "/problems/not-found"
    bad = client.get(f"/api/v1/plans/{plan.id}/{path}?version=0", headers=api_headers)
    assert bad.status_code == 422


def test_every_export_is_audited_with_its_format_and_version(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "oral_taper")
    for path in PATHS:
        assert client.get(f"/api/v1/plans/{plan.id}/{path}", headers=api_headers).status_code == 200
    rows = db.scalars(
        select(AuditEventRecord).where(
            AuditEventRecord.action == "plan.export", AuditEventRecord.entity_id == str(plan.id)
        )
    ).all()
    assert [(r.detail, r.actor_kind) for r in rows] == [
        ({"format": "fhir", "version": 1}, "token"),
        ({"format": "ical", "version": 1}, "token"),
    ]
    assert all(r.patient_id is not None for r in rows)


@pytest.mark.parametrize(
    ("path", "media_type", "extension"),
    [("fhir.json", "application/fhir+json", "fhir.json"), ("calendar.ics", "text/calendar", "ics")],
)
def test_a_clinician_downloads_a_file_named_without_the_patient(
    client: TestClient, api_headers: dict[str, str], db: Session, path: str, media_type: str,
    extension: str,
) -> None:  # fmt: skip
    plan = store_plan(client, api_headers, db, "child_on_solution")
    assert log_in(client, "paula.prescriber").status_code == 303
    response = client.get(f"/plans/{plan.id}/{path}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="plan-{plan.id}-v1.{extension}"'
    assert plan.patient["family_name"] not in disposition
    assert response.headers["cache-control"] == "no-store"
    assert client.get(f"/plans/{plan.id}/{path}?version=7").status_code == 404


def test_web_downloads_need_a_login_and_a_role_that_may_export(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    anonymous = client.get(f"/plans/{plan.id}/calendar.ics")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].endswith("/login")
    assert log_in(client, "vera.viewer").status_code == 303
    assert client.get(f"/plans/{plan.id}/calendar.ics").status_code == 403
    client.cookies.clear()
    assert log_in(client, "phil.pharmacist").status_code == 303
    assert client.get(f"/plans/{plan.id}/fhir.json").status_code == 200


def test_openapi_documents_both_exports_with_their_media_types(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    fhir = paths["/api/v1/plans/{plan_id}/fhir"]["get"]
    ics = paths["/api/v1/plans/{plan_id}/calendar.ics"]["get"]
    assert list(fhir["responses"]["200"]["content"]) == ["application/fhir+json"]
    assert list(ics["responses"]["200"]["content"]) == ["text/calendar"]
    for operation in (fhir, ics):
        assert {"401", "403", "404", "422"} <= set(operation["responses"])
    assert [p["name"] for p in fhir["parameters"]] == ["plan_id", "version", "bundle"]
    [bundle] = [p for p in fhir["parameters"] if p["name"] == "bundle"]
    assert bundle["schema"]["enum"] == ["collection", "transaction"]


def test_the_plan_page_links_the_downloads_for_roles_that_may_export(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "itb_titration")
    link = re.compile(rf'href="([^"]*/plans/{plan.id}/(?:calendar\.ics|fhir\.json)[^"]*)"')
    assert log_in(client, "paula.prescriber").status_code == 303
    page = client.get(f"/plans/{plan.id}")
    assert page.status_code == 200, page.text
    hrefs = set(link.findall(html.unescape(page.text)))
    assert len(hrefs) == 2
    for href in hrefs:  # every link on the page downloads its file
        download = client.get(href)
        assert download.status_code == 200, href
        assert download.headers["content-disposition"].startswith("attachment;")
    client.cookies.clear()
    assert log_in(client, "vera.viewer").status_code == 303
    assert not link.findall(client.get(f"/plans/{plan.id}").text)
