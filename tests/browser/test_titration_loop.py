"""The titration loop in a real Chromium (issue 15): an observation with drowsiness and the
one-step "step back"; a taper that completes its titration; the worklist with a review and
a refill due; a pharmacist working the review queue. Screenshots go to the screenshot dir."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.db.repositories import patients as patient_repo
from app.db.repositories.patients import to_engine_patient
from app.domain import titration
from app.domain.patients import PatientFacts
from app.domain.titration import Dose, DoseUnit
from app.domain.titration.findings import Severity
from app.domain.titration.model import Indication, IntrathecalInput, Patient, PlanRequest, PlanType
from app.services import patients as patient_service
from app.services import plans as plan_service
from app.services import refills as refill_service
from app.services.context import Actor
from app.services.plans import SaveOptions
from app.services.refills import RefillInput
from tests.browser.login import log_in_through_the_form
from tests.factories.clinics import protocols

pytestmark = pytest.mark.browser

TIMEOUT_MS = 8_000
SHOTS = Path("/tmp/titrate-loop-screenshots")  # looked at by hand; not kept in the repository
SHOTS.mkdir(parents=True, exist_ok=True)
TODAY = date.today()
SYSTEM = Actor(kind="system", id=None, name="browser-tests")


def _patient(engine: Engine) -> tuple[int, str]:
    marker = uuid.uuid4().hex[:8]
    facts = PatientFacts(
        mrn=f"LOOP-{marker}", given_name="Lena", family_name=f"Loop{marker}",
        birth_date=date(1979, 4, 12), sex="female", weight_kg=Decimal("68"),
        height_cm=Decimal("170"), serum_creatinine_value=None, serum_creatinine_unit=None,
        serum_creatinine_on=None, creatinine_clearance_ml_min=Decimal("95"), dialysis=False,
        pregnant=False, breastfeeding=False, conditions=(), medications=(),
        spinal_injury_level=None, brain_injury_on=None, preferred_language="en",
    )  # fmt: skip
    with Session(engine) as session:
        record = patient_service.create_patient(session, actor=SYSTEM, facts=facts, today=TODAY)
        return record.id, facts.family_name


def _plan(engine: Engine, patient_id: int, request_for: plan_service.RequestFor) -> int:
    with Session(engine) as session:
        patient = patient_repo.get(session, patient_id, clinic_id=None)
        assert patient is not None
        built = titration.build_plan(request_for(to_engine_patient(patient)), protocols())
        majors = tuple(f.code for f in built.findings if f.severity is Severity.MAJOR)
        record, _, _ = plan_service.create_plan(
            session, actor=SYSTEM, protocols=protocols(), patient_id=patient_id,
            request_for=request_for, options=SaveOptions(acknowledged=majors),
        )  # fmt: skip
        return record.id


def _oral(start: date) -> plan_service.RequestFor:
    def build(patient: Patient) -> PlanRequest:
        return PlanRequest(
            plan_type=PlanType.ORAL_TITRATION, start_date=start,
            indication=Indication.MULTIPLE_SCLEROSIS, patient=patient,
            target_daily_dose=Dose(Decimal(60), DoseUnit.MG),
        )  # fmt: skip

    return build


def _itb(patient: Patient) -> PlanRequest:
    return PlanRequest(
        plan_type=PlanType.ITB_TITRATION, start_date=TODAY,
        indication=Indication.SPINAL_CORD_INJURY, patient=patient,
        intrathecal=IntrathecalInput(
            effective_bolus=Dose(Decimal(75), DoseUnit.MCG), effect_duration_hours=Decimal(6)
        ),
    )  # fmt: skip


def _page(browser: Browser, live_server: str, username: str = "paula.prescriber") -> Page:
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    log_in_through_the_form(page, username)
    expect(page).to_have_url(re.compile(r"/worklist$"))  # home: the worklist or review queue
    return page


def test_drowsiness_observed_then_stepped_back_in_one_step(
    browser: Browser, live_server: str, migrated_engine: Engine
) -> None:
    patient_id, _ = _patient(migrated_engine)
    plan_id = _plan(migrated_engine, patient_id, _oral(TODAY - timedelta(days=5)))  # 30 mg today
    page = _page(browser, live_server)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"/plans/{plan_id}")

    # Keyboard first: the date is today already; arrows pick the scores, Tab moves on,
    # Space ticks drowsiness (the first adverse effect), Enter on the button records it.
    expect(page.get_by_label("Observed on")).to_have_value(TODAY.isoformat())
    page.get_by_label("Modified Ashworth score").focus()
    page.keyboard.press("ArrowDown")  # MAS 0
    page.keyboard.press("ArrowDown")  # MAS 1
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # Penn 0
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # drowsiness, the first adverse effect
    expect(page.get_by_label("drowsiness")).to_be_checked()
    page.get_by_label("Note").fill("Drowsy in the afternoons since the last step.")
    page.get_by_label("Note").press("Tab")
    page.keyboard.press("Enter")  # Record observation

    row = page.locator("#observations tbody tr").first
    expect(row).to_contain_text("drowsiness")
    expect(row).to_contain_text("step back")
    expect(row).to_contain_text("FU-2")
    expect(page.locator("svg circle.marker-adverse")).to_have_count(1)
    page.locator("#observations").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "loop-01-observation.png"), full_page=True)

    page.get_by_role("button", name="Step back and hold from today").click()
    expect(page.locator("dl.plan-meta")).to_contain_text("2 (revised: Observation of")
    expect(page.locator("table.schedule")).to_contain_text("15 mg")
    expect(page.locator("table.schedule")).not_to_contain_text("30 mg")
    expect(page.locator("#observations")).to_contain_text("Done by paula.prescriber")
    expect(page.locator("svg circle.marker-adverse")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "loop-02-stepped-back.png"), full_page=True)
    assert errors == []


def test_a_taper_started_from_the_titration_completes_it(
    browser: Browser, live_server: str, migrated_engine: Engine
) -> None:
    patient_id, _ = _patient(migrated_engine)
    plan_id = _plan(migrated_engine, patient_id, _oral(TODAY - timedelta(days=10)))
    page = _page(browser, live_server)
    page.goto(f"/plans/{plan_id}")
    page.locator("details.danger-zone summary").click()  # offered where one would stop
    page.locator("#start-taper").click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient_id}/plans/new\?"))
    expect(page.get_by_label("Indication")).to_have_value("multiple_sclerosis")
    expect(page.locator("#plan-preview table.schedule")).to_be_visible()
    page.get_by_role("button", name=re.compile("Save")).first.click()
    expect(page).to_have_url(re.compile(r"/plans/\d+$"))
    expect(page.locator("dl.plan-meta")).to_contain_text(f"Plan {plan_id} (completed by this plan)")
    page.screenshot(path=str(SHOTS / "loop-03-taper.png"), full_page=True)
    page.goto(f"/plans/{plan_id}")
    expect(page.locator("dd.state")).to_contain_text("completed")
    expect(page.get_by_role("link", name="Revise")).to_have_count(0)


def test_the_worklist_shows_a_review_due_and_a_refill_due(
    browser: Browser, live_server: str, migrated_engine: Engine
) -> None:
    patient_id, family = _patient(migrated_engine)
    _plan(migrated_engine, patient_id, _oral(TODAY - timedelta(days=40)))  # review in 2 days
    itb_id = _plan(migrated_engine, patient_id, _itb)
    with Session(migrated_engine) as session:
        refill_service.record_refill(
            session, actor=SYSTEM, protocols=protocols(), plan_id=itb_id,
            data=RefillInput(TODAY - timedelta(days=50), Decimal(20), Decimal(2),
                             Decimal(500), 180),
        )  # fmt: skip
    page = _page(browser, live_server)
    rows = page.locator("#worklist tbody tr").filter(has_text=family)
    expect(rows.filter(has_text="Review due")).to_have_count(1)
    refill = rows.filter(has_text="Refill due")
    expect(refill).to_have_count(1)
    expect(refill).to_contain_text(" to ")  # the window
    page.screenshot(path=str(SHOTS / "loop-04-worklist.png"), full_page=True)
    page.get_by_label("Show").select_option("refill_due")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#worklist tbody tr").filter(has_text=family)).to_have_count(1)
    page.locator("#worklist tbody tr").filter(has_text=family).get_by_role("link").last.click()
    expect(page).to_have_url(re.compile(rf"/plans/{itb_id}$"))
    expect(page.locator("#refills")).to_contain_text("mcg/day")


def test_a_pharmacist_works_the_review_queue(
    browser: Browser, live_server: str, migrated_engine: Engine
) -> None:
    patient_id, family = _patient(migrated_engine)
    plan_id = _plan(migrated_engine, patient_id, _oral(TODAY))
    page = _page(browser, live_server, "phil.pharmacist")
    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")
    row = page.locator("#worklist tbody tr").filter(has_text=family)
    expect(row).to_contain_text("awaits a pharmacist")
    page.screenshot(path=str(SHOTS / "loop-05-queue.png"), full_page=True)
    row.get_by_role("link", name=f"Plan {plan_id}").click()
    expect(page.locator("#review-outcome")).to_contain_text("not reviewed yet")
    form = page.locator("form.review-form")
    for box in form.locator("input[name=acknowledged]").all():
        box.check()
    form.get_by_role("radio", name="query").check()
    form.get_by_label(re.compile("Review note")).fill("Is 60 mg the intended target?")
    form.get_by_role("button", name=re.compile("Record review")).click()
    expect(page.locator("#review-outcome")).to_contain_text("query")
    expect(page.locator("#review-outcome")).to_contain_text("Is 60 mg the intended target?")
    expect(page.locator("form.review-form")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "loop-06-reviewed.png"), full_page=True)
    page.goto("/worklist")
    expect(page.locator("#worklist tbody tr").filter(has_text=family)).to_have_count(0)


def test_the_pump_form_offers_the_formularys_pumps_and_concentrations(
    browser: Browser, live_server: str, migrated_engine: Engine
) -> None:
    """Issue 17: the reservoir field lists the formulary's pump models (choosing one fills in
    its reservoir), the concentration field the stocked pump concentrations."""
    patient_id, _ = _patient(migrated_engine)
    itb_id = _plan(migrated_engine, patient_id, _itb)
    page = _page(browser, live_server)
    page.goto(f"/plans/{itb_id}")
    options = "el => Array.from(el.list.options).map(o => [o.value, o.label])"
    models = page.locator("#p-reservoir").evaluate(options)
    assert ["40", "SynchroMed II, 40 mL"] in models
    assert ["20", "Prometra, 20 mL"] in models
    stocked = page.locator("#p-conc").evaluate(options)
    assert [value for value, _ in stocked] == ["500", "1000", "2000"]
    assert page.locator("#f-reservoir_ml").evaluate(options) == models  # the calculator too
    page.locator("#pump").screenshot(path=str(SHOTS / "formulary-pump-form.png"))
