"""A prescriber plans an adult oral titration in a real Chromium: live preview, a major
finding to acknowledge, save, revise, and the difference view.

Screenshots of the planner and the history page go to out/screenshots/ as artefacts.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.domain.patients import PatientFacts
from app.services import patients as patient_service
from app.services.context import Actor
from tests.factories.users import PASSWORD

pytestmark = pytest.mark.browser

TIMEOUT_MS = 5_000


def _made_up_patient(engine: Engine) -> int:
    marker = uuid.uuid4().hex[:8]
    facts = PatientFacts(
        mrn=f"PLN-{marker}", given_name="Olivia", family_name=f"Planner{marker}",
        birth_date=date(1979, 4, 12), sex="female", weight_kg=Decimal("68"),
        height_cm=Decimal("170"), serum_creatinine_value=None, serum_creatinine_unit=None,
        serum_creatinine_on=None, creatinine_clearance_ml_min=Decimal("95"), dialysis=False,
        pregnant=False, breastfeeding=False, conditions=(), medications=("oxycodone",),
        spinal_injury_level=None, brain_injury_on=None, preferred_language="en",
    )  # fmt: skip
    with Session(engine) as session:
        record = patient_service.create_patient(
            session, actor=Actor(kind="system", id=None, name="browser-tests"), facts=facts,
            today=date.today(),
        )  # fmt: skip
        return record.id


def _log_in(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill("paula.prescriber")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/patients$"))


def test_prescriber_plans_acknowledges_saves_revises_and_compares_versions(
    browser: Browser, live_server: str, migrated_engine: Engine, screenshot_dir: Path
) -> None:
    patient_id = _made_up_patient(migrated_engine)
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _log_in(page)

    # The patient page offers plans; the planner previews live as fields change.
    page.goto(f"/patients/{patient_id}")
    page.get_by_role("link", name="New plan").first.click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient_id}/plans/new$"))
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Indication").select_option("multiple_sclerosis")
    page.get_by_label("Target daily dose").fill("30")
    preview = page.locator("#plan-preview")
    expect(preview.locator("dl.limits")).to_contain_text("Target daily dose30 mg/day")
    expect(preview.locator("table.schedule")).to_contain_text("Week 1")
    expect(preview.locator("svg[role=img]")).to_be_visible()
    expect(preview).to_contain_text("opioid")
    assert page.evaluate("window.__sameDocument === true"), "the preview reloaded the page"
    page.screenshot(path=str(screenshot_dir / "planner-01-preview.png"), full_page=True)

    # Saving without ticking the major finding is refused; ticking it saves version 1.
    page.get_by_role("button", name="Save plan").click()
    expect(page.locator("#save-error")).to_contain_text("Acknowledge every major finding")
    expect(page.get_by_label("Target daily dose")).to_have_value("30")
    page.locator("#a-opioid").check()
    page.get_by_role("button", name="Save plan").click()
    expect(page).to_have_url(re.compile(r"/plans/\d+$"))
    expect(page.locator("dl.plan-meta")).to_contain_text("opioid")
    expect(page.locator("dl.plan-meta")).to_contain_text("1 (created)")

    # Revise: the form comes prefilled from the stored version; a reason is required.
    page.get_by_role("link", name="Revise").click()
    expect(page.get_by_label("Target daily dose")).to_have_value("30")
    page.get_by_label("Target daily dose").fill("45")
    expect(page.locator("#plan-preview dl.limits")).to_contain_text("Target daily dose45 mg/day")
    expect(page.locator("#a-opioid")).to_be_checked()
    page.get_by_label("Reason for the revision (required)").fill("Spasticity persists at 30 mg.")
    page.get_by_role("button", name="Save revision").click()
    expect(page).to_have_url(re.compile(r"/plans/\d+$"))
    expect(page.locator("dl.plan-meta")).to_contain_text("2 (revised: Spasticity persists")

    # History lists both versions; the difference view highlights what changed.
    page.get_by_role("link", name="History").click()
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("superseded")
    page.screenshot(path=str(screenshot_dir / "planner-02-history.png"), full_page=True)
    page.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(re.compile(r"/diff\?a=1&b=2$"))
    changed = page.locator("table.diff tr.changed")
    expect(changed.first).to_be_visible()
    expect(page.locator("table.diff").first).to_contain_text("45 mg/day")
    page.screenshot(path=str(screenshot_dir / "planner-03-diff.png"), full_page=True)
    assert not errors, errors
    context.close()
