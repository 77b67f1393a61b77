"""The pharmacist's protocol pages (issue 17): list, versions with their diff, the draft form
built from the protocol's schema, four-eyes approval; the same services as the API."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, ProtocolVersionRecord
from tests.factories.clinics import default_clinic_id, make_patient_in, make_plan_for, make_user
from tests.web.helpers import header_csrf, log_in

SECOND = "pia.pharmacist"


def _as(client: TestClient, username: str) -> dict[str, str]:
    client.cookies.clear()
    assert log_in(client, username).status_code == 303
    return {"X-CSRF-Token": header_csrf(client.get("/protocols").text)}


def _second_pharmacist(db: Session) -> None:
    make_user(db, username=SECOND, role="pharmacist", clinic_id=default_clinic_id(db))


def _draft(client: TestClient, csrf: dict[str, str], **changes: tuple[str, str]) -> object:
    form = {f"value.{name}": value for name, (value, _) in changes.items()}
    form |= {f"source.{name}": source for name, (_, source) in changes.items()}
    return client.post("/protocols/oral-adult/draft", data=form, headers=csrf)


def _field_error(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', page)
    assert match, f"no message {element_id}"
    return match.group(1)


def _versions(db: Session) -> list[tuple[int, str]]:
    query = select(ProtocolVersionRecord.version, ProtocolVersionRecord.status).where(
        ProtocolVersionRecord.protocol_id == "oral-adult"
    )
    return sorted((number, status) for number, status in db.execute(query))


def test_the_list_shows_each_protocol_in_force_and_links_it_from_the_pharmacists_nav(
    client: TestClient,
) -> None:
    _as(client, "phil.pharmacist")
    page = client.get("/protocols").text
    row = re.search(r'<tr id="protocol-oral-adult">.*?</tr>', page, re.S)
    assert row, "no row for oral-adult"
    assert "v1" in row.group(0)
    assert "none" in row.group(0)
    assert re.search(r"<time[^>]*>\d{4}-\d\d-\d\d</time>", row.group(0))
    assert '/protocols">Protocols</a>' in page
    _as(client, "paula.prescriber")
    assert '/protocols">Protocols</a>' not in client.get("/worklist").text


def test_the_draft_form_is_built_from_the_protocols_schema(client: TestClient) -> None:
    _as(client, "phil.pharmacist")
    page = client.get("/protocols/oral-adult/draft").text
    assert page.count('name="value.') == 17 == page.count('name="source.')
    start = re.search(r'<tr id="parameter-start_mg_day".*?</tr>', page, re.S)
    assert start
    assert 'value="15"' in start.group(0)
    assert "mg/day" in start.group(0)
    assert "Allowed: 5 to 15 (CLINICAL_RULES §11)" in start.group(0)
    assert "Now: R-OA-1 [US-TAB]" in start.group(0)
    cap = re.search(r'<tr id="parameter-cap_outpatient_mg_day".*?</tr>', page, re.S)
    assert cap
    assert "Hard limit: at most 80" in cap.group(0)
    remainder = re.search(r'<tr id="parameter-remainder_priority".*?</tr>', page, re.S)
    assert remainder
    assert 'value="evening, morning, night, midday"' in remainder.group(0)


def test_refused_drafts_come_back_with_a_message_next_to_each_field_and_store_nothing(
    client: TestClient, db: Session
) -> None:
    csrf = _as(client, "phil.pharmacist")
    refused = _draft(
        client, csrf,
        start_mg_day=("20", "Clinic guideline"),  # outside §11's 5–15
        cap_outpatient_mg_day=("90", "Clinic guideline"),  # above the hard limit
    )  # fmt: skip
    assert refused.status_code == 422  # type: ignore[attr-defined]
    page = refused.text  # type: ignore[attr-defined]
    assert "allowed range (5 to 15" in _field_error(page, "e-start_mg_day")
    assert "hard limit (at most 80" in _field_error(page, "e-cap_outpatient_mg_day")
    # Every typed value is kept; the refused ones are marked for assistive technology.
    assert 'value="20"' in page
    assert 'value="90"' in page
    assert 'aria-invalid="true"' in page
    missing = _draft(client, csrf, interval_days=("7", ""))
    assert missing.status_code == 422  # type: ignore[attr-defined]
    assert _field_error(missing.text, "es-interval_days") == "A source is required."  # type: ignore[attr-defined]
    not_a_number = _draft(client, csrf, step_mg_day=("five", "Clinic guideline"))
    message = _field_error(not_a_number.text, "e-step_mg_day")  # type: ignore[attr-defined]
    assert "&#39;five&#39; is not a decimal number" in message
    nothing = client.post("/protocols/oral-adult/draft", data={}, headers=csrf)
    assert nothing.status_code == 422
    assert "Change at least one parameter." in nothing.text
    assert _versions(db) == [(1, "approved")]


def test_a_draft_is_approved_by_a_second_pharmacist_never_by_its_author(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    _second_pharmacist(db)
    since = db.scalar(select(func.max(AuditEventRecord.id))) or 0  # a kept database has more
    csrf = _as(client, "phil.pharmacist")
    made = _draft(client, csrf, interval_days=("7", "Clinic guideline 2026-04: weekly steps"))
    assert made.status_code == 303  # type: ignore[attr-defined]
    assert made.headers["location"].endswith("/protocols/oral-adult#version-2")  # type: ignore[attr-defined]
    page = client.get("/protocols/oral-adult").text
    version_2 = re.search(r'<section [^>]*id="version-2".*?</section>', page, re.S)
    assert version_2, "no section for version 2"
    section = version_2.group(0)
    assert "Version 2 — draft" in section
    assert "phil.pharmacist" in section
    assert "<code>interval_days</code>" in section
    assert "Clinic guideline 2026-04" in section
    assert "R-OA-2 [US-TAB]" in section  # the old source beside the new one
    assert "<code>start_mg_day</code>" not in section  # only what changed
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d [A-Z+\-0-9]+", section)  # clinic time
    assert "<strong>1</strong> to approve" in client.get("/protocols").text

    today = date.today().isoformat()
    own = client.post(
        "/protocols/oral-adult/versions/2/approve", data={"effective_from": today}, headers=csrf
    )
    assert own.status_code == 409
    assert "You drafted this version, so you cannot approve it" in own.text
    assert _versions(db) == [(1, "approved"), (2, "draft")]

    csrf = _as(client, SECOND)
    past = (date.today() - timedelta(days=1)).isoformat()
    url = "/protocols/oral-adult/versions/2/approve"
    for bad, message in (("tomorrow", "YYYY-MM-DD"), (past, "never in the past")):
        refused = client.post(url, data={"effective_from": bad}, headers=csrf)
        assert refused.status_code == 422
        assert message in refused.text
        assert f'value="{bad}"' in refused.text
    approved = client.post(url, data={"effective_from": today}, headers=csrf)
    assert approved.status_code == 303
    assert _versions(db) == [(1, "superseded"), (2, "approved")]
    assert app.state.protocols.oral_adult.ref.version == "2"  # this process uses it at once
    again = client.post(url, data={"effective_from": today}, headers=csrf)
    assert again.status_code == 409
    assert "is approved, not a draft" in again.text
    page = client.get("/protocols/oral-adult").text
    assert "Version 2 — approved (in force)" in page
    assert "pia.pharmacist" in page
    assert "Version 1 — superseded" in page
    actions = db.scalars(
        select(AuditEventRecord.action)
        .where(AuditEventRecord.action.like("protocol.%"), AuditEventRecord.id > since)
        .order_by(AuditEventRecord.id)
    ).all()
    assert actions == ["protocol.draft", "protocol.approve"]


def test_only_pharmacists_draft_or_approve_and_the_admin_sees_no_protocol(
    client: TestClient,
) -> None:
    for username in ("paula.prescriber", "vera.viewer"):
        csrf = _as(client, username)
        page = client.get("/protocols/oral-adult")
        assert page.status_code == 200
        assert "Draft a new version" not in page.text
        assert client.get("/protocols/oral-adult/draft").status_code == 403
        assert _draft(client, csrf, interval_days=("7", "x")).status_code == 403  # type: ignore[attr-defined]
    _as(client, "ada.admin")
    assert client.get("/protocols").status_code == 403
    _as(client, "phil.pharmacist")
    assert client.get("/protocols/no-such").status_code == 404
    assert client.get("/protocols/medication-dictionary/draft").status_code == 409


def test_a_plan_page_names_every_protocol_version_its_plan_used(
    client: TestClient, db: Session
) -> None:
    clinic_id = default_clinic_id(db)
    patient = make_patient_in(db, clinic_id)
    plan = make_plan_for(db, clinic_id, patient.id)
    for username in ("paula.prescriber", "phil.pharmacist", "vera.viewer"):
        _as(client, username)
        page = client.get(f"/plans/{plan.id}").text
        used = re.search(r'<p class="protocols-used[^>]*>(.*?)</p>', page, re.S)
        assert used, "the plan page names no protocols"
        assert re.sub(r"<[^>]+>", "", used.group(1)).startswith("Protocols: oral-adult v1, ")
        assert "formulations v2" in used.group(1)
        assert "formulary v1" in used.group(1)
        assert '/protocols/oral-adult#version-1"' in used.group(1)  # every reader may open it


def test_every_protocol_has_a_draft_form_the_formulary_with_its_pumps_too(
    client: TestClient,
) -> None:
    """The formulary's list and pump-model values (issue 17 item 5) on the schema-built form."""
    _as(client, "phil.pharmacist")
    listed = client.get("/protocols").text
    ids = re.findall(r'<tr id="protocol-([a-z-]+)">', listed)
    assert "formulary" in ids
    for protocol_id in ids:
        page = client.get(f"/protocols/{protocol_id}/draft")
        if page.status_code == 409:  # findings and the like: changed by developers only
            assert "changed by developers only" in page.text, protocol_id
            continue
        assert page.status_code == 200, (protocol_id, page.text[:400])
    formulary = client.get("/protocols/formulary/draft").text
    assert "tablet_strengths_mg" in formulary
    assert "SynchroMed II" in formulary


def test_a_formulary_draft_from_the_form_keeps_the_pumps_and_drops_a_strength(
    client: TestClient, db: Session
) -> None:
    csrf = _as(client, "phil.pharmacist")
    form = {
        "value.tablet_strengths_mg": "5, 10",
        "source.tablet_strengths_mg": "Pharmacy stock list 2026-12",
        "value.scored_tablet_strengths_mg": "10",
        "source.scored_tablet_strengths_mg": "Pharmacy stock list 2026-12",
        "value.pump_models": "SynchroMed II = 40; Prometra = 20",
        "source.pump_models": "Our implanted pumps",
    }
    drafted = client.post("/protocols/formulary/draft", data=form, headers=csrf)
    assert drafted.status_code == 303, drafted.text[:800]
    page = client.get("/protocols/formulary").text
    assert "SynchroMed II = 40; Prometra = 20" in page  # the diff shows the new pumps
    refused = client.post(
        "/protocols/formulary/draft",
        data={**form, "value.pump_models": "Tank = 200"},
        headers=csrf,
    )
    assert refused.status_code == 422
    assert "hard limit" in refused.text


def test_a_drafter_sees_which_open_plans_a_draft_would_change_before_anyone_approves_it(
    client: TestClient, db: Session
) -> None:
    clinic_id = default_clinic_id(db)
    plan = make_plan_for(db, clinic_id, make_patient_in(db, clinic_id).id)  # from 2031-03-03
    csrf = _as(client, "phil.pharmacist")
    made = _draft(client, csrf, interval_days=("7", "Clinic guideline 2026-04: weekly steps"))
    assert made.status_code == 303  # type: ignore[attr-defined]
    number = int(made.headers["location"].rsplit("-", 1)[1])  # type: ignore[attr-defined]
    impact_url = f"/protocols/oral-adult/versions/{number}/impact"
    assert f'{impact_url}">Which open plans' in client.get("/protocols/oral-adult").text

    page = client.get(impact_url)
    assert page.status_code == 200
    assert f"Impact of oral-adult version {number}" in page.text
    row = re.search(
        rf'<tr>\s*<th scope="row"><a href="[^"]*/plans/{plan.id}">.*?</tr>', page.text, re.S
    )
    assert row, "the changed plan is not listed"
    cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(0)))
    # 15 mg/day for 3 days, then the 30 mg/day target under version 1; weekly steps keep
    # 15 mg/day until day 7.
    assert "2031-03-06" in cells
    assert "step 1" in cells
    assert "daily dose 30 mg/day 15 mg/day" in cells
    assert int(_field_error(page.text, "count-changed")) >= 1
    assert _versions(db)[-1] == (number, "draft")  # a report changes nothing

    for username in ("paula.prescriber", "vera.viewer"):
        _as(client, username)
        assert client.get(impact_url).status_code == 403
