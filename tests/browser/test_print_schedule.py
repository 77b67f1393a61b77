"""The patient schedule's print page in a real Chromium, with print media emulated.

No script runs on a print page; the page fits the printable width of A4 and US Letter; the
language links switch the page. Screenshots go to out/screenshots/print-schedule-*.png as
artefacts of how the paper looks.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.domain.patients import PatientFacts
from app.domain.titration import (
    Dose,
    DoseUnit,
    Indication,
    IntrathecalInput,
    Patient,
    PlanRequest,
    PlanType,
    load_protocols,
)
from app.services import patients as patient_service
from app.services import plans as plan_service
from app.services.context import Actor
from tests.browser.login import log_in_through_the_form
from tests.browser.timeouts import TIMEOUT_MS

pytestmark = pytest.mark.browser

SYSTEM = Actor(kind="system", id=None, name="browser-tests")
# Printable width at 96 px/in: A4 210 mm and Letter 215.9 mm, less 2 × 14 mm margins.
PRINTABLE_WIDTH_PX = {
    "a4": round((210 - 28) / 25.4 * 96),
    "letter": round((215.9 - 28) / 25.4 * 96),
}


def _stored_plan(
    engine: Engine, language: str, build: Callable[[Patient], PlanRequest], *,
    spinal_level: str | None = None, revise_with: Callable[[Patient], PlanRequest] | None = None,
) -> int:  # fmt: skip
    marker = uuid.uuid4().hex[:8]
    facts = PatientFacts(
        mrn=f"PRN-{marker}", given_name="Thử", family_name=f"Nguyễn Giả {marker}",
        birth_date=date(1980, 2, 14), sex="male", weight_kg=Decimal("80"),
        height_cm=Decimal("180"), serum_creatinine_value=None, serum_creatinine_unit=None,
        serum_creatinine_on=None, creatinine_clearance_ml_min=Decimal("100"), dialysis=False,
        pregnant=False, breastfeeding=False, conditions=(), medications=(),
        spinal_injury_level=spinal_level, brain_injury_on=None, preferred_language=language,
    )  # fmt: skip
    protocols = load_protocols()
    acknowledged = ("itb_high_withdrawal_risk",) if spinal_level else ()
    options = plan_service.SaveOptions(acknowledged=acknowledged)
    with Session(engine, expire_on_commit=False) as session:
        patient = patient_service.create_patient(
            session, actor=SYSTEM, facts=facts, today=date.today()
        )
        record, _, _ = plan_service.create_plan(
            session, actor=SYSTEM, protocols=protocols, patient_id=patient.id,
            request_for=build, options=options,
        )  # fmt: skip
        if revise_with is not None:
            plan_service.revise_plan(
                session, actor=SYSTEM, protocols=protocols, plan_id=record.id,
                expected_version=1, reason="Slower steps", request_for=revise_with,
                options=options,
            )  # fmt: skip
        return record.id


def _oral(target: int) -> Callable[[Patient], PlanRequest]:
    return lambda patient: PlanRequest(
        plan_type=PlanType.ORAL_TITRATION, start_date=date(2026, 12, 1),
        indication=Indication.MULTIPLE_SCLEROSIS, patient=patient,
        target_daily_dose=Dose(Decimal(target), DoseUnit.MG),
    )  # fmt: skip


def _intrathecal(patient: Patient) -> PlanRequest:
    return PlanRequest(
        plan_type=PlanType.ITB_TITRATION, start_date=date(2026, 12, 1),
        indication=Indication.SPINAL_CORD_INJURY, patient=patient,
        intrathecal=IntrathecalInput(
            effective_bolus=Dose(Decimal(75), DoseUnit.MCG), effect_duration_hours=Decimal(6)
        ),
    )  # fmt: skip


def _logged_in_page(browser: Browser, live_server: str) -> tuple[Page, list[str]]:
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    # A CSP refusal (inline style or script) shows up as a console error.
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    log_in_through_the_form(page)
    expect(page).to_have_url(re.compile(r"/worklist$"))  # the clinician's home
    return page, problems


def _assert_printable(page: Page) -> None:
    assert page.locator("script").count() == 0, "a print page carries a <script>"
    assert page.evaluate("document.querySelectorAll('[style]').length") == 0
    for paper, width in PRINTABLE_WIDTH_PX.items():
        page.set_viewport_size({"width": width, "height": 1000})
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page is {overflow}px wider than {paper} paper"


def test_an_oral_schedule_prints_without_script_and_switches_language(
    browser: Browser, live_server: str, migrated_engine: Engine, screenshot_dir: Path
) -> None:
    plan_id = _stored_plan(migrated_engine, "en", _oral(60))
    page, problems = _logged_in_page(browser, live_server)

    page.goto(f"/plans/{plan_id}/print")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("table.schedule").first).to_contain_text("1 tablet of 5 mg")
    page.get_by_role("link", name="Deutsch").click()
    expect(page).to_have_url(re.compile(rf"/plans/{plan_id}/print\?lang=de$"))
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("h1")).to_have_text("Ihr Baclofen-Plan")
    expect(page.locator("table.schedule").first).to_contain_text("1 Tablette zu 5 mg")
    page.screenshot(path=str(screenshot_dir / "print-schedule-oral-de-screen.png"), full_page=True)

    page.goto(f"/plans/{plan_id}/print?lang=en")
    page.emulate_media(media="print")
    expect(page.locator(".document-tools")).to_be_hidden()  # no links on paper
    _assert_printable(page)
    page.set_viewport_size({"width": PRINTABLE_WIDTH_PX["a4"], "height": 1000})
    page.screenshot(path=str(screenshot_dir / "print-schedule-oral-en-print.png"), full_page=True)
    assert not problems, problems


def test_an_intrathecal_schedule_in_vietnamese_and_a_superseded_version_print_their_banners(
    browser: Browser, live_server: str, migrated_engine: Engine, screenshot_dir: Path
) -> None:
    itb_id = _stored_plan(migrated_engine, "vi", _intrathecal, spinal_level="T4")
    old_id = _stored_plan(migrated_engine, "en", _oral(60), revise_with=_oral(45))
    page, problems = _logged_in_page(browser, live_server)
    page.emulate_media(media="print")

    page.goto(f"/plans/{itb_id}/print")  # the patient's own language
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator(".route-banner")).to_have_text("NỘI TỦY (INTRATHECAL) — microgam (mcg)")
    expect(page.locator(".pump-card")).to_contain_text("Thẻ bơm: baclofen nội tủy")
    expect(page.locator("body")).not_to_contain_text(re.compile(r"\bmg\b"))
    _assert_printable(page)
    page.set_viewport_size({"width": PRINTABLE_WIDTH_PX["a4"], "height": 1000})
    page.screenshot(path=str(screenshot_dir / "print-schedule-itb-vi-print.png"), full_page=True)

    page.goto(f"/plans/{old_id}/print?version=1")
    expect(page.locator(".superseded-banner")).to_have_text("SUPERSEDED — do not use")
    page.screenshot(
        path=str(screenshot_dir / "print-schedule-superseded-en-print.png"), full_page=False
    )
    page.goto(f"/plans/{old_id}/print")
    expect(page.locator(".superseded-banner")).to_have_count(0)
    assert not problems, problems
