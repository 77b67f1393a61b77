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
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.domain.patients import PatientFacts
from app.services import patients as patient_service
from app.services.context import Actor
from tests.browser.login import log_in_through_the_form
from tests.browser.timeouts import TIMEOUT_MS

pytestmark = pytest.mark.browser


def _made_up_patient(
    engine: Engine,
    *,
    conditions: tuple[str, ...] = (),
    medications: tuple[str, ...] = ("oxycodone",),
) -> int:
    marker = uuid.uuid4().hex[:8]
    facts = PatientFacts(
        mrn=f"PLN-{marker}", given_name="Olivia", family_name=f"Planner{marker}",
        birth_date=date(1979, 4, 12), sex="female", weight_kg=Decimal("68"),
        height_cm=Decimal("170"), serum_creatinine_value=None, serum_creatinine_unit=None,
        serum_creatinine_on=None, creatinine_clearance_ml_min=Decimal("95"), dialysis=False,
        pregnant=False, breastfeeding=False, conditions=conditions, medications=medications,
        spinal_injury_level=None, brain_injury_on=None, preferred_language="en",
    )  # fmt: skip
    with Session(engine, expire_on_commit=False) as session:
        record = patient_service.create_patient(
            session, actor=Actor(kind="system", id=None, name="browser-tests"), facts=facts,
            today=date.today(),
        )  # fmt: skip
        return record.id


def _log_in(page: Page) -> None:
    log_in_through_the_form(page)
    expect(page).to_have_url(re.compile(r"/worklist$"))  # the clinician's home


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


def _prescriber_page(browser: Browser, live_server: str) -> tuple[BrowserContext, Page, list[str]]:
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _log_in(page)
    return context, page, errors


def test_blocked_plan_cannot_be_saved_until_overridden_with_a_written_reason(
    browser: Browser, live_server: str, migrated_engine: Engine, screenshot_dir: Path
) -> None:
    patient_id = _made_up_patient(migrated_engine, conditions=("epilepsy",), medications=())
    context, page, errors = _prescriber_page(browser, live_server)

    page.goto(f"/patients/{patient_id}/plans/new")
    page.get_by_label("Indication").select_option("multiple_sclerosis")
    page.get_by_label("Target daily dose").fill("30")
    preview = page.locator("#plan-preview")
    expect(preview.locator(".plan-status")).to_contain_text("BLOCKED")
    expect(preview.locator(".findings-block")).to_contain_text("epilepsy")
    page.screenshot(path=str(screenshot_dir / "planner-04-blocked.png"), full_page=True)

    # Saving a blocked plan is refused and the typed values survive.
    page.get_by_role("button", name="Save plan").click()
    expect(page.locator("#save-error")).to_contain_text("blocked by epilepsy")
    expect(page).to_have_url(re.compile(rf"/patients/{patient_id}/plans$"))
    expect(page.get_by_label("Target daily dose")).to_have_value("30")

    # A written reason lifts the block; the saved plan records the override.
    reason = "Seizure-free for 10 years; neurologist agrees."
    page.locator("#o-epilepsy").fill(reason)
    page.get_by_role("button", name="Save plan").click()
    expect(page).to_have_url(re.compile(r"/plans/\d+$"))
    expect(page.locator("ul.overrides-applied")).to_contain_text(reason)
    expect(page.locator(".findings-block h3")).to_have_text("Blocked (overridden)")
    page.screenshot(path=str(screenshot_dir / "planner-05-overridden.png"), full_page=True)
    assert not errors, errors
    context.close()


def test_screening_leads_to_an_intrathecal_titration_and_a_refill_date(
    browser: Browser, live_server: str, migrated_engine: Engine, screenshot_dir: Path
) -> None:
    patient_id = _made_up_patient(migrated_engine, medications=())
    context, page, errors = _prescriber_page(browser, live_server)

    # Screening: negative at 50 mcg, positive at 75 mcg.
    page.goto(f"/patients/{patient_id}/plans/new")
    page.locator("nav.plan-types").get_by_role("link", name="Intrathecal screening").click()
    expect(page).to_have_url(re.compile(r"plan_type=itb_screening"))
    page.get_by_label("Indication").select_option("multiple_sclerosis")
    page.get_by_label("Bolus 1 (day 1)").select_option("negative")
    page.get_by_label("Bolus 2 (day 2)").select_option("positive")
    preview = page.locator("#plan-preview")
    expect(preview.locator("table.schedule")).to_contain_text("75 mcg")
    expect(preview.locator("table.schedule")).not_to_contain_text("100 mcg")
    page.screenshot(path=str(screenshot_dir / "planner-06-screening.png"), full_page=True)
    page.get_by_role("button", name="Save plan").click()
    expect(page).to_have_url(re.compile(r"/plans/\d+$"))

    # The saved screening offers titration from the effective bolus.
    page.get_by_role("link", name="Start intrathecal titration from the effective bolus").click()
    expect(page).to_have_url(re.compile(r"plan_type=itb_titration"))
    expect(page.get_by_label("Effective screening bolus")).to_have_value("75")
    expect(page.get_by_label("Indication")).to_have_value("multiple_sclerosis")
    page.get_by_label("Effect duration").fill("8")
    preview = page.locator("#plan-preview")
    expect(preview.get_by_role("heading", name="INTRATHECAL — micrograms")).to_be_visible()
    expect(preview.locator("table.schedule")).to_contain_text("150 mcg/day")
    expect(preview.locator("table.schedule")).not_to_contain_text(" mg")
    page.screenshot(path=str(screenshot_dir / "planner-07-itb-titration.png"), full_page=True)
    page.get_by_role("button", name="Save plan").click()
    expect(page).to_have_url(re.compile(r"/plans/\d+$"))
    expect(page.get_by_role("heading", name="INTRATHECAL — micrograms")).to_be_visible()

    # The refill calculator on the plan page answers with an alarm date and a window.
    refill = page.locator("section.refill")
    expect(refill.get_by_label("Daily dose")).to_have_value("150")  # today's titration dose
    refill.get_by_label("Reservoir volume").fill("20")
    refill.get_by_label("Low-reservoir alarm volume").fill("2")
    refill.get_by_label("Concentration").fill("500")
    refill.get_by_label("Daily dose").fill("300")
    refill.get_by_label("Fill date").fill("2031-03-03")
    refill.get_by_label("Maximum refill interval (labelling)").fill("180")  # no date without it
    refill.get_by_role("button", name="Calculate refill").click()
    result = page.locator("#refill-result")
    expect(result).to_contain_text("Alarm date")
    expect(result).to_contain_text("2031-04-02")
    expect(result).to_contain_text("Refill window")
    page.screenshot(path=str(screenshot_dir / "planner-08-refill.png"), full_page=True)
    assert not errors, errors
    context.close()


def test_two_prescribers_revising_the_same_plan_the_second_gets_a_conflict(
    browser: Browser, live_server: str, migrated_engine: Engine, screenshot_dir: Path
) -> None:
    patient_id = _made_up_patient(migrated_engine, medications=())
    first_context, first, first_errors = _prescriber_page(browser, live_server)
    second_context, second, second_errors = _prescriber_page(browser, live_server)

    first.goto(f"/patients/{patient_id}/plans/new")
    first.get_by_label("Indication").select_option("multiple_sclerosis")
    first.get_by_label("Target daily dose").fill("30")
    expect(first.locator("#plan-preview table.schedule")).to_contain_text("Week 1")
    first.get_by_role("button", name="Save plan").click()
    expect(first).to_have_url(re.compile(r"/plans/\d+$"))
    plan_url = first.url

    # Both open the revise form of version 1.
    first.goto(f"{plan_url}/revise")
    second.goto(f"{plan_url}/revise")
    for page in (first, second):
        expect(page.get_by_label("Target daily dose")).to_have_value("30")

    first.get_by_label("Target daily dose").fill("45")
    first.get_by_label("Reason for the revision (required)").fill("First: spasticity persists.")
    first.get_by_role("button", name="Save revision").click()
    expect(first).to_have_url(re.compile(r"/plans/\d+$"))
    expect(first.locator("dl.plan-meta")).to_contain_text("2 (revised: First")

    second.get_by_label("Target daily dose").fill("40")
    second.get_by_label("Reason for the revision (required)").fill("Second: a smaller step.")
    second.get_by_role("button", name="Save revision").click()
    expect(second.get_by_role("heading", name="Someone else changed this record")).to_be_visible()
    expect(second.get_by_role("alert").first).to_be_visible()
    expect(second.locator("body")).to_contain_text("not saved")
    second.screenshot(path=str(screenshot_dir / "planner-09-conflict.png"), full_page=True)

    # Exactly two versions: the second save changed nothing.
    first.goto(f"{plan_url}/history")
    expect(first.locator("table.history tbody tr")).to_have_count(2)
    expect(first.locator("table.history")).not_to_contain_text("Second: a smaller step.")
    assert not first_errors, first_errors
    assert not second_errors, second_errors
    first_context.close()
    second_context.close()
