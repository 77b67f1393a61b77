"""The clinician summary in a real Chromium: reached from the plan page and from the history,
for an adult with an override and an acknowledgement, an older adult with renal impairment,
an intrathecal plan, a superseded version and hostile text.

Artefacts in out/screenshots/: summary-adult.png, summary-renal.png, summary-intrathecal.png,
summary-superseded.png, summary-hostile.png (the HTML pages), and summary-adult-pdf-1.png
(page 1 of the downloaded PDF, drawn by pdftoppm).
"""

from __future__ import annotations

import re
import subprocess
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.domain.patients import PatientFacts
from app.services import patients as patient_service
from app.services.context import Actor
from tests.browser.login import log_in_through_the_form
from tests.browser.timeouts import TIMEOUT_MS

pytestmark = pytest.mark.browser

EPILEPSY_REASON = "Seizure-free for 10 years; the neurologist agrees."
HOSTILE = "<script>alert(1)</script>"


def _patient(engine: Engine, **changes: object) -> int:
    marker = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "mrn": f"SUM-{marker}", "given_name": "Olivia", "family_name": f"Summary{marker}",
        "birth_date": date(1979, 4, 12), "sex": "female", "weight_kg": Decimal("65"),
        "height_cm": Decimal("168"), "serum_creatinine_value": Decimal("0.8"),
        "serum_creatinine_unit": "mg/dL", "serum_creatinine_on": date(2026, 11, 1),
        "creatinine_clearance_ml_min": None, "dialysis": False, "pregnant": False,
        "breastfeeding": False, "conditions": (), "medications": (),
        "spinal_injury_level": None, "brain_injury_on": None, "preferred_language": "en",
    }  # fmt: skip
    values.update(changes)
    with Session(engine, expire_on_commit=False) as session:
        record = patient_service.create_patient(
            session, actor=Actor(kind="system", id=None, name="browser-tests"),
            facts=PatientFacts(**values), today=date.today(),  # type: ignore[arg-type]
        )  # fmt: skip
        return record.id


def _prescriber(browser: Browser, live_server: str) -> tuple[BrowserContext, Page, list[str]]:
    context = browser.new_context(base_url=live_server, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    log_in_through_the_form(page)
    expect(page).to_have_url(re.compile(r"/worklist$"))  # the clinician's home
    return context, page, problems


def _save_plan(page: Page, patient_id: int, **fields: str | list[str]) -> None:
    """Open the planner prefilled from the query string, then save as a prescriber would."""
    query = {"start_date": "2031-03-03", "indication": "multiple_sclerosis", **fields}
    page.goto(f"/patients/{patient_id}/plans/new?{urlencode(query, doseq=True)}")
    page.get_by_role("button", name="Save plan").click()
    expect(page).to_have_url(re.compile(r"/plans/\d+$"))


def _open_summary(page: Page) -> None:
    page.get_by_role("link", name="Print and export").click()
    section = page.locator("#print-and-export")
    section.get_by_role("link", name="Clinician summary", exact=True).click()
    expect(page).to_have_url(re.compile(r"/plans/\d+/summary\?version=\d+$"))


def _fact(page: Page, label: str) -> Locator:
    """The value of one labelled renal fact ("Method" → "Cockcroft–Gault estimate")."""
    term = page.locator("dl.renal dt").filter(has_text=re.compile(rf"^{re.escape(label)}$"))
    return term.locator("xpath=following-sibling::dd[1]")


def test_adult_summary_shows_override_and_acknowledgement_and_downloads_as_pdf(
    browser: Browser, live_server: str, migrated_engine: Engine, screenshot_dir: Path
) -> None:
    patient_id = _patient(migrated_engine, conditions=("epilepsy",), medications=("oxycodone",))
    context, page, problems = _prescriber(browser, live_server)
    _save_plan(
        page, patient_id, plan_type="oral_titration", target_daily_dose="30",
        override__epilepsy=EPILEPSY_REASON, acknowledged=["opioid"],
    )  # fmt: skip
    _open_summary(page)
    expect(page.locator(".superseded-banner")).to_have_count(0)
    override = page.locator("tr.decision-override")
    expect(override).to_contain_text(EPILEPSY_REASON)
    expect(override).to_contain_text("paula.prescriber (prescriber)")
    expect(page.locator("tr.decision-acknowledgement")).to_contain_text("opioid (major)")
    expect(page.locator("dd.protocol")).to_have_text("oral-adult version 1")
    expect(page.locator("table.steps")).to_contain_text("30\u00a0mg/day")
    page.screenshot(path=str(screenshot_dir / "summary-adult.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download as PDF").click()
    pdf = screenshot_dir / "summary-adult.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
         str(screenshot_dir / "summary-adult-pdf-1")],
        check=True, timeout=60,
    )  # fmt: skip
    assert (screenshot_dir / "summary-adult-pdf-1.png").stat().st_size > 10_000
    assert problems == []
    context.close()


def test_older_adult_summary_shows_the_renal_estimate_and_weight_basis(
    browser: Browser, live_server: str, migrated_engine: Engine, screenshot_dir: Path
) -> None:
    # CLINICAL_RULES SC-04: 72 years at the start, 55 kg, creatinine 1.1 mg/dL, after a stroke.
    patient_id = _patient(
        migrated_engine, birth_date=date(1959, 1, 1), weight_kg=Decimal("55"),
        height_cm=Decimal("160"), serum_creatinine_value=Decimal("1.1"),
        medications=("amlodipine",),
    )  # fmt: skip
    context, page, problems = _prescriber(browser, live_server)
    majors = ["cerebrovascular_disease", "elderly_renal_impairment", "moderate_renal_impairment"]
    _save_plan(page, patient_id, indication="stroke", target_daily_dose="20", acknowledged=majors)
    _open_summary(page)
    expect(_fact(page, "Creatinine clearance used")).to_have_text("40.1\u00a0mL/min")
    expect(_fact(page, "Method")).to_have_text("Cockcroft–Gault estimate")
    expect(_fact(page, "Renal band")).to_have_text("moderate impairment")
    expect(_fact(page, "Weight basis")).to_have_text("total body weight")
    page.screenshot(path=str(screenshot_dir / "summary-renal.png"), full_page=True)
    assert problems == []
    context.close()


def test_intrathecal_summary_is_marked_and_in_micrograms_only(
    browser: Browser, live_server: str, migrated_engine: Engine, screenshot_dir: Path
) -> None:
    patient_id = _patient(
        migrated_engine, sex="male", weight_kg=Decimal("75"), height_cm=Decimal("180"),
        spinal_injury_level="T4",
    )  # fmt: skip
    context, page, problems = _prescriber(browser, live_server)
    _save_plan(
        page, patient_id, plan_type="itb_titration", indication="spinal_cord_injury",
        itb_effective_bolus="75", itb_effect_duration_hours="6",
        acknowledged=["itb_high_withdrawal_risk"],
    )  # fmt: skip
    _open_summary(page)
    expect(page.locator(".route-banner")).to_have_text("INTRATHECAL — micrograms")
    schedule = page.locator("table.steps")
    expect(schedule).to_contain_text("150\u00a0mcg/day")
    assert not re.search(r"\bmg\b", schedule.inner_text())
    page.screenshot(path=str(screenshot_dir / "summary-intrathecal.png"), full_page=True)
    assert problems == []
    context.close()


def test_an_older_version_from_the_history_is_superseded(
    browser: Browser, live_server: str, migrated_engine: Engine, screenshot_dir: Path
) -> None:
    patient_id = _patient(migrated_engine, creatinine_clearance_ml_min=Decimal("95"))
    context, page, problems = _prescriber(browser, live_server)
    _save_plan(page, patient_id, plan_type="oral_titration", target_daily_dose="30")
    page.get_by_role("link", name="Revise").click()
    page.get_by_label("Target daily dose").fill("45")
    page.get_by_label("Reason for the revision (required)").fill("Spasticity persists.")
    page.get_by_role("button", name="Save revision").click()
    expect(page).to_have_url(re.compile(r"/plans/\d+$"))
    page.get_by_role("link", name="History").click()
    page.get_by_role("link", name="Summary of version 1", exact=True).click()
    expect(page).to_have_url(re.compile(r"/summary\?version=1$"))
    expect(page.locator(".superseded-banner")).to_have_text("SUPERSEDED — do not use")
    expect(page.locator("dd.version-line")).to_have_text("1 of 2 (superseded)")
    page.screenshot(path=str(screenshot_dir / "summary-superseded.png"), full_page=True)
    assert problems == []
    context.close()


def test_hostile_text_is_shown_as_text(
    browser: Browser, live_server: str, migrated_engine: Engine, screenshot_dir: Path
) -> None:
    patient_id = _patient(
        migrated_engine, given_name=HOSTILE, family_name="{{7*7}}", conditions=("epilepsy",)
    )
    context, page, problems = _prescriber(browser, live_server)
    reason = 'hx-get="/x" <img src=x onerror=alert(1)>'
    _save_plan(page, patient_id, target_daily_dose="30", override__epilepsy=reason)
    _open_summary(page)
    expect(page.locator("dd.patient-name")).to_have_text(f"{HOSTILE} {{{{7*7}}}}")
    expect(page.locator("tr.decision-override td.decision-reason")).to_have_text(reason)
    assert page.locator("script, img, [hx-get]").count() == 0
    page.screenshot(path=str(screenshot_dir / "summary-hostile.png"), full_page=True)
    assert problems == []
    context.close()
