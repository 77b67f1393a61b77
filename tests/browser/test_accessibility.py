"""axe-core (from the npm registry) on every page in Chromium: no serious or critical
violation anywhere.

The pages are site_pages' list (checked against the route inventory in
test_html_validity), each opened as the user who would see it, plus the states only
interaction reaches: a refused login, form errors swapped in by htmx, the live preview and a
refused save, a conflict, a token shown once, a refill result, a refused observation, the
calendar subscription's QR code. axe is injected by Playwright into contexts that bypass the
CSP (the pages rightly forbid any script but our own); nothing else differs from what a
clinician's browser gets.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.db.models import PatientRecord
from app.main import PROJECT_ROOT
from app.services import patients as patient_service
from app.services.context import Actor
from tests.browser.login import log_in_through_the_form
from tests.browser.site_pages import (
    ADMIN,
    PRESCRIBER,
    SeededRecords,
    log_in,
    seed_records,
    site_pages,
    some_user_id,
)
from tests.browser.timeouts import TIMEOUT_MS

# Page quality does not depend on the database: `make test` runs it in the SQLite run only.
pytestmark = [pytest.mark.browser, pytest.mark.markup]

AXE = PROJECT_ROOT / "node_modules/axe-core/axe.min.js"
REPORTED = ("serious", "critical")


@pytest.fixture(scope="module")
def seeded(live_server: str) -> Iterator[SeededRecords]:
    with (
        httpx.Client(base_url=live_server) as prescriber,
        httpx.Client(base_url=live_server) as admin,
    ):
        log_in(prescriber, PRESCRIBER)
        log_in(admin, ADMIN)
        yield dataclasses.replace(seed_records(prescriber), user_id=some_user_id(admin))


def axe_problems(page: Page) -> list[str]:
    """Serious and critical axe violations on the page as it is now, one line per element."""
    assert AXE.is_file(), f"{AXE} is missing: run the Makefile setup (npm ci)"
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at {node['target']}"
        f" — {node.get('failureSummary', '').splitlines()[-1:]}"
        for violation in result["violations"]
        if violation["impact"] in REPORTED
        for node in violation["nodes"]
    ]


def _context(browser: Browser, live_server: str, user: str | None) -> BrowserContext:
    context = browser.new_context(base_url=live_server, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    if user:
        page = context.new_page()
        log_in_through_the_form(page, user)
        page.close()
    return context


def _settled(page: Page) -> None:
    """Waits until htmx has loaded what the page asks for on load (e.g. the plan list)."""
    page.wait_for_load_state("networkidle")


def test_every_page_has_no_serious_or_critical_axe_violation(
    browser: Browser, live_server: str, seeded: SeededRecords
) -> None:
    problems: list[str] = []
    contexts: dict[str | None, BrowserContext] = {}
    for site_page in site_pages(seeded):
        if site_page.user not in contexts:
            contexts[site_page.user] = _context(browser, live_server, site_page.user)
        page = contexts[site_page.user].new_page()
        response = page.goto(site_page.url)
        assert response is not None
        assert response.status == site_page.status, (site_page.name, response.status)
        _settled(page)
        problems += [f"{site_page.name}: {problem}" for problem in axe_problems(page)]
        page.close()
    for context in contexts.values():
        context.close()
    assert not problems, "\n".join(problems)


def test_states_reached_by_interaction_have_no_serious_or_critical_axe_violation(
    browser: Browser, live_server: str, seeded: SeededRecords, migrated_engine: Engine
) -> None:
    problems: list[str] = []

    def check(page: Page, name: str) -> None:
        _settled(page)
        problems.extend(f"{name}: {problem}" for problem in axe_problems(page))

    context = _context(browser, live_server, None)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill("nobody.here")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Unknown user or wrong password")
    check(page, "login-refused")
    context.close()

    context = _context(browser, live_server, PRESCRIBER)
    page = context.new_page()
    _prescriber_states(page, seeded, migrated_engine, check)
    context.close()

    context = _context(browser, live_server, ADMIN)
    page = context.new_page()
    _admin_states(page, check)
    context.close()
    assert not problems, "\n".join(problems)


def _prescriber_states(page: Page, ids: SeededRecords, engine: Engine, check: Any) -> None:
    page.goto("/patients/new")
    page.get_by_role("button", name="Save patient").click()
    expect(page.locator("#patient-form .error")).to_contain_text("Please correct")
    check(page, "patient-form-errors")

    # The live preview arrives by htmx; saving without acknowledging the opioid is refused.
    page.goto(f"/patients/{ids.patient_id}/plans/new")
    page.get_by_label("Indication").select_option("multiple_sclerosis")
    page.get_by_label("Target daily dose").fill("30")
    expect(page.locator("#plan-preview table.schedule")).to_contain_text("Week 1")
    check(page, "planner-live-preview")
    page.get_by_role("button", name="Save plan").click()
    expect(page.locator("#save-error")).to_contain_text("Acknowledge every major finding")
    check(page, "planner-save-refused")

    page.goto(f"/plans/{ids.itb_plan_id}")
    refill = page.locator("section.refill")
    refill.get_by_label("Reservoir volume").fill("20")
    refill.get_by_label("Low-reservoir alarm volume").fill("2")
    refill.get_by_label("Concentration").fill("500")
    refill.get_by_label("Fill date").fill("2031-03-03")
    refill.get_by_label("Maximum refill interval (labelling)").fill("180")  # no date without it
    refill.get_by_role("button", name="Calculate refill").click()
    expect(page.locator("#refill-result")).to_contain_text("Alarm date")
    check(page, "refill-result")

    # The loop's pages: a refused observation, the calendar subscription with its QR code.
    page.goto(f"/plans/{ids.oral_plan_id}")
    page.get_by_label("Observed on").fill("2099-01-01")
    page.get_by_role("button", name="Record observation").click()
    expect(page.locator("#observation-error")).to_contain_text("up to today")
    check(page, "observation-refused")
    page.get_by_role("button", name="Calendar subscription for the patient (QR code)").click()
    expect(page.locator("figure.calendar-feed-qr svg")).to_be_visible()
    check(page, "calendar-feed")

    # Someone else saves the patient between our opening the form and saving it.
    page.goto(f"/patients/{ids.patient_id}/edit")
    _save_patient_elsewhere(engine, ids.patient_id)
    page.get_by_label("Weight (kg)").fill("65")
    page.get_by_role("button", name="Save patient").click()
    expect(page.get_by_role("heading", name="Someone else changed this record")).to_be_visible()
    check(page, "error-409")


def _save_patient_elsewhere(engine: Engine, patient_id: int) -> None:
    with Session(engine, expire_on_commit=False) as session:
        record = session.get(PatientRecord, patient_id)
        assert record is not None
        patient_service.update_patient(
            session, actor=Actor(kind="system", id=None, name="browser-tests"),
            patient_id=patient_id, expected_version=record.version,
            changes={"weight_kg": Decimal("66")}, today=date.today(),
        )  # fmt: skip


def _admin_states(page: Page, check: Any) -> None:
    page.goto("/admin/users/new")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("#user-form .error")).to_contain_text("Please correct")
    check(page, "admin-user-form-errors")

    page.goto("/admin/tokens/new")
    page.get_by_label("Name of the client system").fill(
        "accessibility_check_client"
    )  # the username rule
    page.get_by_label("Clinic").select_option(label="Default clinic")
    page.get_by_label("patients:read").check()
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_label("API token")).to_have_value(re.compile(r"^tt_"))
    check(page, "admin-token-created")


def test_axe_finds_what_these_tests_refuse(browser: Browser, live_server: str) -> None:
    """The checks above can fail: an unlabelled field and grey-on-white text are reported."""
    context = browser.new_context(base_url=live_server, bypass_csp=True)
    page = context.new_page()
    page.goto("/login")
    page.evaluate(
        """() => {
            const input = document.createElement('input');
            const faint = document.createElement('p');
            faint.textContent = 'Faint text';
            faint.style.color = '#cccccc';
            document.querySelector('main').append(input, faint);
        }"""
    )
    problems = axe_problems(page)
    assert any(p.startswith("label (critical)") for p in problems), problems
    assert any(p.startswith("color-contrast (serious)") for p in problems), problems
    context.close()
