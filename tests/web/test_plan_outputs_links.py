"""The plan page's "Print and export" section and the history's per-version documents: every
link is there for those who may use it, names the version shown, and leads somewhere real."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.sessions import log_in
from tests.web.helpers import make_patient

SECTION = re.compile(r'<section id="print-and-export".*?</section>', re.S)
LINK = re.compile(r'<a href="([^"]+)"[^>]*>([^<]+)</a>')
EXPECTED = {
    "Patient schedule": ("/plans/{id}/print", "text/html"),
    "Patient schedule PDF": ("/plans/{id}/print.pdf", "application/pdf"),
    "Clinician summary": ("/plans/{id}/summary", "text/html"),
    "Clinician summary PDF": ("/plans/{id}/summary.pdf", "application/pdf"),
    "FHIR R4 (JSON)": ("/plans/{id}/fhir.json", "application/fhir+json"),
    "Calendar (.ics)": ("/plans/{id}/calendar.ics", "text/calendar"),
}


def _save(client: TestClient, csrf: str, db: Session) -> int:
    patient = make_patient(db, creatinine_clearance_ml_min=Decimal("90"))
    data = {
        "csrf_token": csrf, "plan_type": "oral_titration", "indication": "multiple_sclerosis",
        "setting": "outpatient", "start_date": "2031-03-03", "target_daily_dose": "30",
    }  # fmt: skip
    response = client.post(f"/patients/{patient.id}/plans", data=data)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def _revise(client: TestClient, csrf: str, plan_id: int) -> None:
    data = {
        "csrf_token": csrf, "plan_type": "oral_titration", "indication": "multiple_sclerosis",
        "setting": "outpatient", "start_date": "2031-03-03", "target_daily_dose": "45",
        "version": "1", "reason": "Spasticity persists.",
    }  # fmt: skip
    assert client.post(f"/plans/{plan_id}/revise", data=data).status_code == 303


def _section_links(page: str) -> dict[str, str]:
    section = SECTION.search(page)
    assert section, "the plan page has no Print and export section"
    return {text.strip(): unescape(href) for href, text in LINK.findall(section[0])}


@pytest.fixture
def csrf(client: TestClient) -> str:
    return log_in(client, "paula.prescriber")


def test_the_plan_page_links_every_document_and_export_of_the_version_shown(
    client: TestClient, csrf: str, db: Session
) -> None:
    plan_id = _save(client, csrf, db)
    page = client.get(f"/plans/{plan_id}").text
    assert '<a href="#print-and-export">Print and export</a>' in page
    links = _section_links(page)
    assert set(links) == set(EXPECTED)
    for text, (path, media_type) in EXPECTED.items():
        href = links[text]
        assert href.endswith(path.format(id=plan_id) + "?version=1"), (text, href)
        response = client.get(href)
        assert response.status_code == 200, (text, response.text[:300])
        assert response.headers["content-type"].startswith(media_type), text
        assert response.headers["cache-control"] == "no-store", text


def test_after_a_revision_the_links_name_the_new_version_and_history_keeps_the_old(
    client: TestClient, csrf: str, db: Session
) -> None:
    plan_id = _save(client, csrf, db)
    _revise(client, csrf, plan_id)
    links = _section_links(client.get(f"/plans/{plan_id}").text)
    assert all(href.endswith("?version=2") for href in links.values())
    history = client.get(f"/plans/{plan_id}/history").text
    assert '<th scope="col">Documents</th>' in history
    for number in (1, 2):
        assert f'/plans/{plan_id}/summary?version={number}"' in history
        assert f'/plans/{plan_id}/summary.pdf?version={number}"' in history
        assert f'/plans/{plan_id}/print?version={number}"' in history
        assert f'Summary<span class="visually-hidden"> of version {number}</span>' in history
    old = client.get(f"/plans/{plan_id}/summary?version=1").text
    assert "SUPERSEDED — do not use" in old


def test_a_viewer_is_offered_no_prints_or_exports(
    client: TestClient, csrf: str, db: Session
) -> None:
    plan_id = _save(client, csrf, db)
    client.cookies.clear()
    log_in(client, "vera.viewer")
    page = client.get(f"/plans/{plan_id}")
    assert page.status_code == 200
    assert 'id="print-and-export"' not in page.text
    assert "#print-and-export" not in page.text
    assert "/summary" not in page.text
    history = client.get(f"/plans/{plan_id}/history").text
    assert "Documents" not in history
    assert "/summary" not in history


def test_a_pharmacist_is_offered_every_print_and_export(
    client: TestClient, csrf: str, db: Session
) -> None:
    plan_id = _save(client, csrf, db)
    client.cookies.clear()
    log_in(client, "phil.pharmacist")
    assert set(_section_links(client.get(f"/plans/{plan_id}").text)) == set(EXPECTED)
