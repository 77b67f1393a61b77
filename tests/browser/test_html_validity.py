"""The HTML of every page is valid by the Nu Html Checker (vnu, from the npm registry).

Pages come from site_pages (checked against the route inventory), fetched through the
in-process client as the user who would see them, plus the pages that only a form post
shows (refused login, form errors, a refused save, a conflict, a new token). htmx fragments
are checked inside a minimal document. One JVM run checks every file.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import PROJECT_ROOT
from tests.browser.site_pages import (
    ADMIN,
    PHARMACIST,
    PRESCRIBER,
    SeededRecords,
    SitePage,
    log_in,
    seed_records,
    site_pages,
    some_user_id,
    uncovered_routes,
)

pytestmark = pytest.mark.markup

VNU_JAR = PROJECT_ROOT / "node_modules/vnu-jar/build/dist/vnu.jar"
HX = {"HX-Request": "true"}
_FRAGMENT_DOCUMENT = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fragment</title></head>'
    "<body><main>{}</main></body></html>"
)


def test_every_html_get_route_is_a_listed_page_or_named_as_not_a_page(app: FastAPI) -> None:
    ids = SeededRecords(1, 2, 3, 4, 5, "Name", user_id=6)
    assert not uncovered_routes(app, site_pages(ids)), (
        "add these GET routes to tests/browser/site_pages.py (a page, or NOT_PAGES with why)"
    )


@pytest.fixture
def seeded(client: TestClient) -> SeededRecords:
    log_in(client, ADMIN)
    user_id = some_user_id(client)
    client.cookies.clear()
    log_in(client, PRESCRIBER)
    return dataclasses.replace(seed_records(client), user_id=user_id)


def test_every_page_and_every_posted_page_is_valid_html(
    client: TestClient, seeded: SeededRecords, tmp_path: Path
) -> None:
    documents = _fetch_pages(client, site_pages(seeded))
    documents.update(_posted_pages(client, seeded))
    documents.update(_fragments(client, seeded))
    assert len(documents) > 50
    errors = _vnu_errors(documents, tmp_path)
    assert not errors, "\n".join(errors)


def test_the_checker_reports_an_invalid_page(tmp_path: Path) -> None:
    """The check above can fail: a duplicate id and a stray end tag are found."""
    broken = '<!doctype html><html lang="en"><head><title>x</title></head><body>'
    broken += '<p id="a">one</p><p id="a">two</p></div></body></html>'
    errors = _vnu_errors({"broken": broken}, tmp_path)
    assert any("Duplicate ID" in error for error in errors), errors
    assert any("Stray end tag" in error for error in errors), errors


def _fetch_pages(client: TestClient, pages: list[SitePage]) -> dict[str, str]:
    documents: dict[str, str] = {}
    user: str | None = "nobody yet"
    for page in sorted(pages, key=lambda p: p.user or ""):
        if page.user != user:
            client.cookies.clear()
            if page.user:
                log_in(client, page.user)
            user = page.user
        response = client.get(page.url)
        assert response.status_code == page.status, (page.name, response.text[:500])
        assert response.headers["content-type"].startswith("text/html"), page.name
        documents[page.name] = response.text
    return documents


def _posted_pages(client: TestClient, ids: SeededRecords) -> dict[str, str]:
    """Pages that a form post answers with (no htmx: the whole page comes back)."""
    client.cookies.clear()
    form = client.get("/login").text
    login_csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert login_csrf
    refused = client.post(
        "/login",
        data={"username": "nobody.here", "password": "wrong", "csrf_token": login_csrf[1]},
    )
    assert refused.status_code in (401, 422), refused.status_code
    documents = {"posted-login-refused": refused.text}

    csrf = log_in(client, PRESCRIBER)
    patient = f"/patients/{ids.patient_id}"
    documents["posted-patient-errors"] = _post(client, "/patients", {"csrf_token": csrf}, 422)
    plan = {"plan_type": "oral_titration", "indication": "multiple_sclerosis", "csrf_token": csrf}
    plan |= {"setting": "outpatient", "start_date": "2031-03-03", "target_daily_dose": "30"}
    documents["posted-plan-not-acknowledged"] = _post(client, f"{patient}/plans", plan, 422)
    stale = {"csrf_token": csrf, "version": "0", "reason": "Moved away."}
    documents["posted-error-409"] = _post(client, f"{patient}/archive", stale, 409)
    # The calendar subscription (shown once, with its QR code) and the loop's refused forms.
    feed = _post(client, f"{patient}/calendar-feed", {"csrf_token": csrf}, 200)
    assert "<svg" in feed, "the calendar subscription page shows no QR code"
    documents["posted-calendar-feed"] = feed
    observed = {"csrf_token": csrf, "observed_on": "yesterday", "mas_score": "1"}
    oral, itb = f"/plans/{ids.oral_plan_id}", f"/plans/{ids.itb_plan_id}"
    documents["posted-observation-refused"] = _post(client, f"{oral}/observations", observed, 422)
    refill = {"csrf_token": csrf, "filled_on": "2031-03-03", "reservoir_ml": "20"}
    refill |= {"concentration_mcg_per_ml": "500", "max_refill_interval_days": "0"}
    documents["posted-pump-refill-refused"] = _post(client, f"{itb}/refills", refill, 422)
    wrong = {"csrf_token": csrf, "current_password": "not it", "password": "x"}
    documents["posted-password-refused"] = _post(client, "/account/password", wrong, 422)

    documents |= _posted_protocol_pages(client)

    client.cookies.clear()
    csrf = log_in(client, ADMIN)
    token = {"csrf_token": csrf, "name": "pagewalk_client", "scope": "patients:read"}
    token |= {"expires_in_days": "30"}
    documents["posted-token-errors"] = _post(client, "/admin/tokens", token, 422)
    clinic = re.search(r'<option value="(\d+)"', client.get("/admin/tokens/new").text)
    assert clinic, "the token form offers no clinic"
    token["clinic_id"] = clinic[1]
    documents["posted-token-created"] = _post(client, "/admin/tokens", token, 201)
    return documents


def _posted_protocol_pages(client: TestClient) -> dict[str, str]:
    """A refused draft, and the protocol page with a draft's diff and its author's refused
    approval (everything here is rolled back with the test's transaction)."""
    client.cookies.clear()
    csrf = log_in(client, PHARMACIST)
    draft = "/protocols/oral-adult/draft"
    refused = {"csrf_token": csrf, "value.start_mg_day": "20", "source.start_mg_day": "Ours"}
    documents = {"posted-protocol-draft-refused": _post(client, draft, refused, 422)}
    made = client.post(
        draft, data={"csrf_token": csrf, "value.interval_days": "7", "source.interval_days": "Ours"}
    )
    assert made.status_code == 303, made.text[:800]
    version = made.headers["location"].rsplit("#version-", 1)[1]
    approve = f"/protocols/oral-adult/versions/{version}/approve"
    own = {"csrf_token": csrf, "effective_from": "2031-03-03"}
    documents["posted-protocol-self-approval"] = _post(client, approve, own, 409)
    return documents


def _post(client: TestClient, url: str, data: dict[str, str], status: int) -> str:
    response = client.post(url, data=data)
    assert response.status_code == status, (url, response.status_code, response.text[:800])
    return response.text


def _fragments(client: TestClient, ids: SeededRecords) -> dict[str, str]:
    """htmx answers, each wrapped in a minimal document (they are swapped into pages)."""
    client.cookies.clear()
    csrf = log_in(client, PRESCRIBER)
    patient = f"/patients/{ids.patient_id}"
    plan = {"plan_type": "oral_titration", "indication": "multiple_sclerosis", "csrf_token": csrf}
    plan |= {"setting": "outpatient", "start_date": "2031-03-03", "target_daily_dose": "30"}
    refill = {"reservoir_ml": "20", "alarm_volume_ml": "2", "concentration_mcg_per_ml": "500"}
    refill |= {"daily_dose": "300", "fill_date": "2031-03-03", "csrf_token": csrf}
    refill |= {"max_refill_interval_days": "180"}
    answers = {
        "fragment-search": client.get(f"/patients?q={ids.family_name}", headers=HX),
        "fragment-plans": client.get(f"{patient}/plans", headers=HX),
        "fragment-preview": client.post(f"{patient}/plans/preview", data=plan, headers=HX),
        "fragment-refill": client.post(f"/plans/{ids.itb_plan_id}/refill", data=refill, headers=HX),
    }
    for name, response in answers.items():
        assert response.status_code == 200, (name, response.text[:500])
        assert "<html" not in response.text, f"{name} should be a fragment"
    return {name: _FRAGMENT_DOCUMENT.format(r.text) for name, r in answers.items()}


def _vnu_errors(documents: dict[str, str], directory: Path) -> list[str]:
    java = shutil.which("java")
    assert java, "java is missing (apt-get install -y default-jre-headless)"
    assert VNU_JAR.is_file(), f"{VNU_JAR} is missing: run the Makefile setup (npm ci)"
    files = []
    for name, text in documents.items():
        path = directory / f"{name}.html"
        path.write_text(text, encoding="utf-8")
        files.append(str(path))
    result = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--format", "json", "--errors-only", *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    return [
        f"{Path(m.get('url', '?')).stem}:{m.get('lastLine', '?')}: {m['message']}"
        f" [{m.get('extract', '').strip()[:120]}]"
        for m in messages
        if m.get("type") in ("error", "non-document-error")
    ]
