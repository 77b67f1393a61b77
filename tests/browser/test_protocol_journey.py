"""Four eyes on a protocol in a real Chromium (issue 17): pharmacist A drafts oral-adult with
a changed parameter and its source (a refused draft first), cannot approve it; pharmacist B
reads which open plans it would change, then approves it from today; a prescriber's new plan
then uses the new version.

The approval changes what the engine uses, so this runs on a server of its own (the shared
live server keeps the protocols it started with) and puts the protocol versions back as it
found them afterwards: later tests, and later runs on a kept PostgreSQL database, see the
seeded version 1 in force. Screenshots: out/screenshots/protocol-*.png.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.db.models import PlanProtocolReviewRecord, ProtocolVersionRecord
from app.main import create_app
from tests.browser.login import log_in_through_the_form
from tests.browser.test_accessibility import axe_problems
from tests.browser.timeouts import TIMEOUT_MS
from tests.factories.clinics import default_clinic_id, make_patient_in, make_plan_for, make_user

pytestmark = pytest.mark.browser

NEW_SOURCE = "Clinic guideline 2026-04: weekly steps for our patients"


@pytest.fixture
def own_server(settings: Settings, migrated_engine: Engine) -> Iterator[str]:
    """A server of this test's own, and the protocol versions restored after it."""
    with Session(migrated_engine) as session:
        before = dict(
            session.execute(select(ProtocolVersionRecord.id, ProtocolVersionRecord.status)).all()
        )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="protocol-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the protocol journey's server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        with Session(migrated_engine) as session:
            # The approval flagged open plans for review (impact); those rows go first.
            session.execute(
                delete(PlanProtocolReviewRecord).where(
                    PlanProtocolReviewRecord.protocol_version_id.not_in(before)
                )
            )
            session.execute(
                delete(ProtocolVersionRecord).where(ProtocolVersionRecord.id.not_in(before))
            )
            for record_id, status in before.items():
                session.execute(
                    update(ProtocolVersionRecord)
                    .where(ProtocolVersionRecord.id == record_id)
                    .values(status=status)
                )
            session.commit()


def _people(engine: Engine) -> tuple[str, int, int]:
    """A second pharmacist (unique name), a made-up patient without a plan, and the open
    oral plan (from 2031-03-03) of another, committed and closed."""
    with Session(engine, expire_on_commit=False) as session:
        clinic_id = default_clinic_id(session)
        second = f"pia.{uuid.uuid4().hex[:8]}"
        make_user(session, username=second, role="pharmacist", clinic_id=clinic_id)
        patient = make_patient_in(session, clinic_id)
        plan = make_plan_for(session, clinic_id, make_patient_in(session, clinic_id).id)
        session.commit()
        return second, patient.id, plan.id


def _context(browser: Browser, base_url: str) -> BrowserContext:
    # bypass_csp only so that axe can be injected (test_accessibility does the same).
    context = browser.new_context(base_url=base_url, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _shot(page: Page, directory: Path, name: str) -> None:
    page.screenshot(
        path=str(directory / f"protocol-{name}.png"),
        full_page=True,
        caret="initial",
        animations="allow",
    )


def _accessible(page: Page) -> None:
    problems = axe_problems(page)
    assert not problems, "\n".join(problems)


def test_a_second_pharmacist_approves_a_draft_and_new_plans_use_it(
    browser: Browser, own_server: str, migrated_engine: Engine, screenshot_dir: Path
) -> None:
    second, patient_id, open_plan_id = _people(migrated_engine)
    errors: list[str] = []

    # Pharmacist A: the list, then the draft form of oral-adult.
    author = _context(browser, own_server)
    page = author.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in_through_the_form(page, "phil.pharmacist")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Protocols").click()
    expect(page.get_by_role("heading", name="Protocols")).to_be_visible()
    row = page.locator("#protocol-oral-adult")
    in_force = row.locator("td").first.inner_text()
    assert re.fullmatch(r"v\d+", in_force), in_force
    _shot(page, screenshot_dir, "01-list")
    row.get_by_role("link", name="oral-adult").click()
    page.get_by_role("link", name="Draft a new version").click()
    expect(page.get_by_role("heading", name="Draft a new version of oral-adult")).to_be_visible()
    interval = page.locator("#v-interval_days")
    expect(interval).to_have_value("3")
    _shot(page, screenshot_dir, "02-draft-form")

    # A changed value without its source, and a start above §11's range: both refused.
    interval.fill("7")
    page.locator("#v-start_mg_day").fill("20")
    page.locator("#s-start_mg_day").fill("Our wish")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#draft-error")).to_be_visible()
    expect(page.locator("#es-interval_days")).to_have_text("A source is required.")
    expect(page.locator("#v-start_mg_day")).to_have_value("20")  # nothing typed is lost
    _accessible(page)
    _shot(page, screenshot_dir, "03-draft-refused")
    page.locator("#s-interval_days").fill(NEW_SOURCE)
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#e-start_mg_day")).to_contain_text("outside the allowed range (5 to 15")
    page.locator("#v-start_mg_day").fill("15")
    page.locator("#s-start_mg_day").fill("")
    page.get_by_label("Reason for this version").fill("Weekly steps: fewer clinic visits.")
    page.get_by_role("button", name="Save draft").click()

    # The draft: its diff, value and source; its author may not approve it.
    expect(page).to_have_url(re.compile(r"/protocols/oral-adult#version-\d+$"))
    version = int(page.url.rsplit("#version-", 1)[1])
    draft = page.locator(f"#version-{version}")
    expect(draft.get_by_role("heading")).to_have_text(f"Version {version} — draft")
    changes = draft.locator("table.protocol-diff tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.first).to_contain_text("interval_days")
    expect(changes.first).to_contain_text("3 days")
    expect(changes.first).to_contain_text("7 days")
    expect(changes.first).to_contain_text(NEW_SOURCE)
    _accessible(page)
    _shot(page, screenshot_dir, "04-draft")
    # Its author is offered no approval, and the server refuses one sent all the same.
    expect(draft.get_by_role("button", name=re.compile("Approve"))).to_have_count(0)
    expect(draft.locator(f"#own-draft-{version}")).to_contain_text("You drafted this version")
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert csrf
    refused = page.request.post(
        f"/protocols/oral-adult/versions/{version}/approve",
        form={"csrf_token": csrf, "effective_from": date.today().isoformat()},
    )
    assert refused.status == 409
    assert "You drafted this version, so you cannot approve it" in refused.text()
    page.reload()
    expect(draft.get_by_role("heading")).to_have_text(f"Version {version} — draft")
    _accessible(page)
    _shot(page, screenshot_dir, "05-own-draft")
    author.close()

    # Pharmacist B approves it from today (the form's default).
    approver = _context(browser, own_server)
    page = approver.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in_through_the_form(page, second)
    page.goto("/protocols")
    expect(page.locator("#protocol-oral-adult .drafts")).to_contain_text("1 to approve")
    page.goto("/protocols/oral-adult")
    # First: which open plans of the clinic it would change (the open plan steps weekly).
    page.get_by_role("link", name=f"Which open plans would version {version} change?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Impact of oral-adult version {version}"
    )
    row = page.locator(
        "#changed-plans tr", has=page.get_by_role("link", name=f"Plan {open_plan_id}")
    )
    expect(row).to_contain_text("2031-03-06")
    expect(row).to_contain_text("30 mg/day")
    expect(row).to_contain_text("15 mg/day")
    _accessible(page)
    _shot(page, screenshot_dir, "06-impact")
    page.get_by_role("link", name="Back to the protocol").click()
    page.get_by_role("button", name=f"Approve version {version}").click()
    expect(page.locator(f"#version-{version}").get_by_role("heading")).to_have_text(
        f"Version {version} — approved (in force)"
    )
    expect(page.locator(f"#version-{version}")).to_contain_text(second)
    expect(page.locator("#in-force")).to_have_text(f"version {version}")
    _shot(page, screenshot_dir, "07-approved")
    approver.close()

    # A prescriber's new plan uses it: weekly steps, and the plan names the version.
    prescriber = _context(browser, own_server)
    page = prescriber.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in_through_the_form(page, "paula.prescriber")
    expect(page.get_by_role("link", name="Protocols")).to_have_count(0)  # pharmacists' nav
    page.goto(f"/patients/{patient_id}/plans/new")
    page.get_by_label("Indication").select_option("multiple_sclerosis")
    page.get_by_label("Target daily dose").fill("30")
    preview = page.locator("#plan-preview")
    expect(preview.locator("#protocols-used")).to_contain_text(f"oral-adult v{version}")
    expect(preview.locator("table.schedule")).to_contain_text("Days 1–7")
    page.get_by_role("button", name="Save plan").click()
    expect(page).to_have_url(re.compile(r"/plans/\d+$"))
    used = page.locator("#protocols-used")
    expect(used).to_contain_text(f"Protocols: oral-adult v{version}")
    _shot(page, screenshot_dir, "08-plan")
    used.get_by_role("link", name=f"oral-adult v{version}").click()
    expect(page).to_have_url(re.compile(rf"/protocols/oral-adult#version-{version}$"))
    expect(page.get_by_role("button", name=re.compile("Approve"))).to_have_count(0)
    prescriber.close()
    assert errors == []
