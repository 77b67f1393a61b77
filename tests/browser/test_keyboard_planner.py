"""A prescriber plans with the keyboard alone in a real Chromium: log in, find the patient
through the live search, open the planner, fill it in, acknowledge a major finding, save.

Only page.keyboard moves focus and acts (Tab, Enter, Space, an arrow key, typing); no
click, fill or mouse. Focus is moved by tabbing until the wanted element is focused, so the
test also proves the tab order reaches everything the journey needs, that each stop shows a
visible focus indicator, and that htmx swaps never drop focus to <body>.

Screenshots of focused states go to out/screenshots/keyboard-*.png as artefacts.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.domain.patients import PatientFacts
from app.services import patients as patient_service
from app.services.context import Actor
from tests.browser.timeouts import TIMEOUT_MS
from tests.factories.users import PASSWORD

pytestmark = pytest.mark.browser

# The planner, the longest page of the journey, has about 20 tab stops: 40 lets a search
# wrap round a page once, and a target not met by then is not in the tab order at all.
TAB_LIMIT = 40

_DESCRIBE_FOCUS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return "<body>";
    const id = el.id ? "#" + el.id : "";
    const text = (el.getAttribute("aria-label") || el.textContent || el.value || "").trim();
    return `<${el.tagName.toLowerCase()}${id}> "${text.slice(0, 40)}"`;
}"""

# A focus indicator is an outline or a box shadow; one that is "none" or zero wide is no
# indicator at all, whatever :focus-visible matches.
_FOCUS_INDICATOR = """el => {
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    return outline || style.boxShadow !== "none";
}"""


def _focused(target: Locator) -> bool:
    return bool(target.evaluate("el => el === document.activeElement"))


def tab_to(page: Page, target: Locator, *, limit: int = TAB_LIMIT) -> None:
    """Presses Tab until `target` has focus, then checks that the focus is visible.

    Fails after `limit` presses and names every stop passed, so a broken tab order reads as
    the order it really is.
    """
    target.wait_for(state="attached")
    passed: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        if _focused(target):
            assert_focus_visible(target)
            return
        passed.append(page.evaluate(_DESCRIBE_FOCUS))
    pytest.fail(f"Tab x{limit} never reached {target}; stops: {passed}")


def assert_focus_visible(target: Locator) -> None:
    assert target.evaluate(_FOCUS_INDICATOR), f"{target} has focus but no visible indicator"


def assert_focus_not_lost(page: Page, target: Locator) -> None:
    """After an htmx swap, focus stays on the control the clinician was using."""
    where = page.evaluate(_DESCRIBE_FOCUS)
    assert _focused(target), f"focus moved to {where} instead of staying on {target}"


def _made_up_patient_on_oxycodone(engine: Engine) -> tuple[int, str]:
    """Oxycodone makes the planner show a major finding (opioid) to acknowledge."""
    marker = uuid.uuid4().hex[:8]
    family_name = f"Keyboard{marker}"
    facts = PatientFacts(
        mrn=f"KBD-{marker}", given_name="Kira", family_name=family_name,
        birth_date=date(1981, 2, 3), sex="female", weight_kg=Decimal("66"),
        height_cm=Decimal("168"), serum_creatinine_value=None, serum_creatinine_unit=None,
        serum_creatinine_on=None, creatinine_clearance_ml_min=Decimal("95"), dialysis=False,
        pregnant=False, breastfeeding=False, conditions=(), medications=("oxycodone",),
        spinal_injury_level=None, brain_injury_on=None, preferred_language="en",
    )  # fmt: skip
    with Session(engine, expire_on_commit=False) as session:
        record = patient_service.create_patient(
            session, actor=Actor(kind="system", id=None, name="browser-tests"), facts=facts,
            today=date.today(),
        )  # fmt: skip
        return record.id, family_name


def _log_in_by_keyboard(page: Page) -> None:
    page.goto("/login")
    tab_to(page, page.get_by_label("Username"))
    page.keyboard.type("paula.prescriber")
    tab_to(page, page.get_by_label("Password"))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/worklist$"))  # the clinician's home
    page.goto("/patients")


def _skip_link_is_first_and_moves_focus_to_main(page: Page, screenshot_dir: Path) -> None:
    skip = page.get_by_role("link", name="Skip to content")
    page.keyboard.press("Tab")
    assert _focused(skip), f"first tab stop is {page.evaluate(_DESCRIBE_FOCUS)}, not the skip link"
    assert_focus_visible(skip)
    expect(skip).to_be_in_viewport()  # it is off-screen until focused
    page.screenshot(path=str(screenshot_dir / "keyboard-01-skip-link.png"))
    page.keyboard.press("Enter")
    main = page.locator("main#main")
    assert _focused(main), f"the skip link left focus on {page.evaluate(_DESCRIBE_FOCUS)}"
    # The next stop is inside main: the header's links are skipped.
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)"), (
        f"after the skip link, Tab went to {page.evaluate(_DESCRIBE_FOCUS)}"
    )


def test_prescriber_plans_with_the_keyboard_alone(
    browser: Browser, live_server: str, migrated_engine: Engine, screenshot_dir: Path
) -> None:
    patient_id, family_name = _made_up_patient_on_oxycodone(migrated_engine)
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _log_in_by_keyboard(page)
    # The patient list's search box takes the cursor: typing searches at once.
    search = page.get_by_role("searchbox", name="Search by name")
    expect(search).to_be_focused()
    # On a page whose first field does not take the cursor, the skip link is the first stop.
    page.goto(f"/patients/{patient_id}")
    _skip_link_is_first_and_moves_focus_to_main(page, screenshot_dir)
    page.goto("/patients")

    # Live search: results swap in while focus stays in the search box.
    expect(search).to_be_focused()
    page.keyboard.type(family_name)
    patient_link = page.locator("#patient-results").get_by_role("link", name=f"{family_name}, Kira")
    expect(patient_link).to_be_visible()
    expect(page.locator("#patient-results tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(rf"/patients\?q={family_name}$"))
    assert_focus_not_lost(page, search)
    tab_to(page, patient_link)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/patients/{patient_id}$"))

    # The plan list loads by htmx; its "New plan" link opens the planner.
    plans = page.locator(f"#patient-{patient_id}-plans")
    tab_to(page, plans.get_by_role("link", name="New plan"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/patients/{patient_id}/plans/new$"))

    # Plan type by its tab, indication by arrow key, target dose by typing.
    oral = page.locator("nav.plan-types").get_by_role("link", name="Oral titration")
    tab_to(page, oral)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"plan_type=oral_titration"))
    expect(oral).to_have_attribute("aria-current", "page")
    page.evaluate("window.__sameDocument = true")
    indication = page.get_by_label("Indication")
    tab_to(page, indication)
    page.keyboard.press("ArrowDown")  # on a closed select (Linux): the next option, "change"
    expect(indication).to_have_value("multiple_sclerosis")
    dose = page.get_by_label("Target daily dose")
    tab_to(page, dose)
    page.keyboard.type("30")
    preview = page.locator("#plan-preview")
    expect(preview.locator("dl.limits")).to_contain_text("Target daily dose30 mg/day")
    expect(preview.locator("table.schedule")).to_contain_text("Week 1")
    assert page.evaluate("window.__sameDocument === true"), "the preview reloaded the page"
    assert_focus_not_lost(page, dose)

    # Saving before the acknowledgement is refused; the message is an alert and has focus.
    save = page.get_by_role("button", name="Save plan")
    tab_to(page, save)
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Acknowledge every major finding")
    expect(alert).to_be_focused()
    assert_focus_visible(alert)
    page.screenshot(path=str(screenshot_dir / "keyboard-02-save-refused.png"), full_page=True)
    expect(dose).to_have_value("30")

    # Space ticks the finding; the preview re-renders around it and focus stays on it.
    acknowledge = page.get_by_role("checkbox", name=re.compile(r"I have read opioid"))
    tab_to(page, acknowledge)
    # Marks the preview on screen, so its replacement shows the swap has happened.
    page.evaluate("document.getElementById('plan-preview').dataset.before = 'space'")
    page.keyboard.press("Space")
    expect(page.locator("#plan-preview:not([data-before])")).to_be_attached()
    expect(acknowledge).to_be_checked()
    assert_focus_not_lost(page, acknowledge)
    assert_focus_visible(acknowledge)
    page.screenshot(path=str(screenshot_dir / "keyboard-03-acknowledged.png"), full_page=True)

    tab_to(page, save)
    page.screenshot(path=str(screenshot_dir / "keyboard-04-save-focused.png"), full_page=True)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/plans/\d+$"))
    expect(page.locator("dl.plan-meta")).to_contain_text("1 (created)")
    expect(page.locator("dl.plan-meta")).to_contain_text("opioid")
    expect(page.get_by_role("heading", level=1)).to_contain_text(family_name)
    page.screenshot(path=str(screenshot_dir / "keyboard-05-saved.png"), full_page=True)
    assert not errors, errors
    context.close()
