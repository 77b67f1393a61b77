"""The clinician's journey in a real Chromium: log in, create (with a mistake), find, edit, log out.

Screenshots of each step go to out/screenshots/ (git-ignored) as artefacts.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.browser.login import log_in_through_the_form
from tests.browser.timeouts import TIMEOUT_MS
from tests.factories.users import PASSWORD

pytestmark = pytest.mark.browser


def _shot(page: Page, directory: Path, name: str) -> None:
    # caret="initial": Playwright's default injects a <style> to hide the caret, which our CSP
    # then (rightly) reports when htmx swaps the page; that would be noise, not an app fault.
    path = directory / f"journey-{name}.png"
    page.screenshot(path=str(path), full_page=True, caret="initial", animations="allow")


def test_clinician_creates_finds_edits_a_patient_and_logging_out_ends_the_session(
    browser: Browser, live_server: str, screenshot_dir: Path
) -> None:
    marker = uuid.uuid4().hex[:8]
    family, mrn = f"Journey{marker}", f"BRW-{marker}"
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda msg: _record_error(console_errors, msg))
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))

    # Not logged in: the list sends us to the login page.
    page.goto("/patients")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_label("Username").fill("paula.prescriber")
    page.get_by_label("Password").fill(PASSWORD)
    _shot(page, screenshot_dir, "01-login")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/worklist$"))  # the clinician's home
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    expect(page).to_have_url(re.compile(r"/patients$"))
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"

    # Create with one invalid field: the message appears next to it, typed values stay.
    page.get_by_role("link", name="New patient").click()
    expect(page).to_have_url(re.compile(r"/patients/new$"))
    page.get_by_label("Given name").fill("Brenda")
    page.get_by_label("Family name").fill(family)
    page.get_by_label("MRN").fill(mrn)
    page.get_by_label("Birth date").fill("1975-03-14")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Weight (kg)").fill("abc")
    page.get_by_label("Height (cm)").fill("165")
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Save patient").click()
    weight_error = page.locator("#e-weight_kg")
    expect(weight_error).to_have_text("Enter a number, e.g. 72.5.")
    expect(page.get_by_label("Weight (kg)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Family name")).to_have_value(family)
    expect(page.get_by_label("Birth date")).to_have_value("1975-03-14")
    assert page.evaluate("window.__sameDocument === true"), "the error should be swapped in"
    _shot(page, screenshot_dir, "02-create-error")

    page.get_by_label("Weight (kg)").fill("72.5")
    page.get_by_role("button", name="Save patient").click()
    expect(page).to_have_url(re.compile(r"/patients/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{family}, Brenda")
    expect(page.locator("dl.facts")).to_contain_text("72.5 kg")
    detail_url = page.url
    _shot(page, screenshot_dir, "03-created")

    # Find the patient by typing in the search box: htmx swaps the results, no page load.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    expect(page).to_have_url(re.compile(r"/patients$"))
    page.evaluate("window.__sameDocument = true")
    with page.expect_response(re.compile(r"/patients\?q=")) as search:
        page.get_by_label("Search by name").press_sequentially(family.lower(), delay=10)
    assert search.value.request.headers.get("hx-request") == "true"
    result = page.locator("#patient-results").get_by_role("link", name=f"{family}, Brenda")
    expect(result).to_be_visible()
    expect(page.locator("#patient-results tbody tr")).to_have_count(1)
    assert page.evaluate("window.__sameDocument === true"), "live search reloaded the page"
    expect(page).to_have_url(re.compile(rf"/patients\?q={family.lower()}"))  # hx-push-url
    _shot(page, screenshot_dir, "04-search")

    # Back and forward restore whole pages from the server (history cache is off), never a
    # bare fragment: one heading, one search box, one result list.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/patients$"))
    expect(page.get_by_role("heading", name="Patients")).to_have_count(1)
    expect(page.locator("#q")).to_have_count(1)
    page.go_forward()
    expect(page).to_have_url(re.compile(rf"/patients\?q={family.lower()}"))
    expect(page.locator("#patient-results")).to_have_count(1)
    expect(result).to_be_visible()

    # Open, edit the weight, save, and see the new value.
    result.click()
    expect(page).to_have_url(detail_url)
    page.get_by_role("link", name="Edit").click()
    expect(page).to_have_url(re.compile(r"/patients/\d+/edit$"))
    expect(page.get_by_label("Weight (kg)")).to_have_value("72.5")
    page.get_by_label("Weight (kg)").fill("80")
    _shot(page, screenshot_dir, "05-edit")
    page.get_by_role("button", name="Save patient").click()
    expect(page).to_have_url(detail_url)
    expect(page.locator("dl.facts")).to_contain_text("80 kg")
    _shot(page, screenshot_dir, "06-edited")

    # Log out; the old session cookie must no longer open anything.
    old_sid = next(c["value"] for c in context.cookies() if c["name"] == "titrate_sid")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    assert not [c for c in context.cookies() if c["name"] == "titrate_sid"]
    _shot(page, screenshot_dir, "07-logged-out")

    replay = browser.new_context(base_url=live_server)
    replay.set_default_timeout(TIMEOUT_MS)
    host = live_server.removeprefix("http://").split(":")[0]
    replay.add_cookies([{"name": "titrate_sid", "value": old_sid, "domain": host, "path": "/"}])
    raw = replay.request.get(detail_url, max_redirects=0)
    assert raw.status == 303
    assert raw.headers["location"].endswith("/login")
    replay_page = replay.new_page()
    replay_page.goto(detail_url)
    expect(replay_page).to_have_url(re.compile(r"/login$"))
    expect(replay_page.get_by_role("button", name="Log in")).to_be_visible()
    assert family not in replay_page.content()
    _shot(replay_page, screenshot_dir, "08-old-session-refused")
    replay.close()
    context.close()

    # No CSP violations or script errors along the way (htmx must work under our CSP).
    assert console_errors == []


def _record_error(errors: list[str], msg: ConsoleMessage) -> None:
    # A 422 answer is expected (the invalid form); Chromium logs every 4xx fetch as an error.
    if msg.type == "error" and "status of 422" not in msg.text:
        errors.append(f"{msg.text} (at {msg.location.get('url')})")


def test_a_stale_edit_in_a_second_tab_shows_the_conflict_and_keeps_the_first_save(
    browser: Browser, live_server: str, screenshot_dir: Path
) -> None:
    marker = uuid.uuid4().hex[:8]
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    first = context.new_page()
    log_in_through_the_form(first)
    first.goto("/patients/new")
    first.get_by_label("Given name").fill("Conrad")
    first.get_by_label("Family name").fill(f"Conflict{marker}")
    first.get_by_label("MRN").fill(f"BRC-{marker}")
    first.get_by_label("Birth date").fill("1960-07-01")
    first.get_by_label("Sex").select_option("male")
    first.get_by_label("Weight (kg)").fill("90")
    first.get_by_role("button", name="Save patient").click()
    expect(first).to_have_url(re.compile(r"/patients/\d+$"))
    edit_url = first.url + "/edit"

    second = context.new_page()
    second.goto(edit_url)
    first.goto(edit_url)
    first.get_by_label("Weight (kg)").fill("85")
    first.get_by_role("button", name="Save patient").click()
    expect(first.locator("dl.facts")).to_contain_text("85 kg")

    second.get_by_label("Weight (kg)").fill("95")
    second.get_by_role("button", name="Save patient").click()
    expect(second.get_by_role("heading", name="Someone else changed this record")).to_be_visible()
    expect(second.get_by_role("alert")).to_contain_text("version")
    _shot(second, screenshot_dir, "09-conflict")
    second.goto(first.url.removesuffix("/edit"))
    expect(second.locator("dl.facts")).to_contain_text("85 kg")
    context.close()
