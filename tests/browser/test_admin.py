"""The administrator's journey in a real Chromium: create a user (with a mistake first), see
them log in, disable them, and watch their open session end; make and revoke an API token.

Screenshots go to out/screenshots/admin-*.png (git-ignored) as artefacts.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests.browser.timeouts import TIMEOUT_MS
from tests.factories.users import PASSWORD

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a long enough password"
CHOSEN_PASSWORD = "my very own passphrase 3"
LINK_PASSWORD = "chosen through the link 5"


def _shot(page: Page, directory: Path, name: str) -> None:
    # caret="initial": see test_patient_journey (Playwright's caret style would trip our CSP).
    page.screenshot(
        path=str(directory / f"admin-{name}.png"),
        full_page=True,
        caret="initial",
        animations="allow",
    )


def _context(browser: Browser, live_server: str) -> BrowserContext:
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _log_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_admin_creates_a_user_then_disables_them_and_their_session_ends(
    browser: Browser, live_server: str, screenshot_dir: Path
) -> None:
    username = f"nurse.{uuid.uuid4().hex[:8]}"
    admin_context = _context(browser, live_server)
    page = admin_context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda msg: _record_error(console_errors, msg))
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))

    _log_in(page, "ada.admin", PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="API tokens")).to_be_visible()
    expect(nav.get_by_role("link", name="Patients")).to_have_count(0)
    _shot(page, screenshot_dir, "01-users")

    # A too-short password: the form comes back in place with the message by the field.
    page.get_by_role("link", name="New user").click()
    expect(page).to_have_url(re.compile(r"/admin/users/new$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Initial password").fill("short")
    page.get_by_label("Role").select_option("prescriber")
    page.get_by_label("Clinic").select_option(label="Default clinic")
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("#e-password")).to_have_text("At least 12 characters.")
    expect(page.get_by_label("Username")).to_have_value(username)
    expect(page.get_by_label("Initial password")).to_have_value("")
    assert page.evaluate("window.__sameDocument === true"), "the error should be swapped in"
    _shot(page, screenshot_dir, "02-create-error")

    page.get_by_label("Initial password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create user").click()
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    row = page.locator("tr", has=page.get_by_role("cell", name=username, exact=True))
    expect(row).to_contain_text("Default clinic")
    expect(row).to_contain_text("never")
    _shot(page, screenshot_dir, "03-created")

    # The new user logs in elsewhere: the admin's initial password only opens the
    # change-password page, where they choose their own (issue 13)...
    user_context = _context(browser, live_server)
    user_page = user_context.new_page()
    _log_in(user_page, username, NEW_PASSWORD)
    expect(user_page).to_have_url(re.compile(r"/account/password$"))
    user_page.get_by_label("Current password").fill(NEW_PASSWORD)
    user_page.locator("#f-password").fill(CHOSEN_PASSWORD)
    user_page.get_by_label("New password, again").fill(CHOSEN_PASSWORD)
    user_page.get_by_role("button", name="Change password").click()
    expect(user_page).to_have_url(re.compile(r"/login$"))
    _log_in(user_page, username, CHOSEN_PASSWORD)
    expect(user_page).to_have_url(re.compile(r"/worklist$"))
    expect(user_page.get_by_text(f"{username} (prescriber)")).to_be_visible()

    # ...forgets it: the admin makes a one-time link, never a password...
    page.get_by_role("link", name=f"Reset password of {username}").click()
    expect(page.get_by_role("heading", name=f"Reset the password of {username}")).to_be_visible()
    page.get_by_role("button", name="Make a reset link").click()
    link = page.get_by_label("One-time link").input_value()
    assert re.fullmatch(r"https?://[^/]+/account/reset/[A-Za-z0-9_-]{40,}", link)
    _shot(page, screenshot_dir, "03b-reset-link")
    user_page.reload()
    expect(user_page).to_have_url(re.compile(r"/login$"))  # their session ended
    user_page.goto(link)
    user_page.locator("#f-password").fill(LINK_PASSWORD)
    user_page.get_by_label("New password, again").fill(LINK_PASSWORD)
    _shot(user_page, screenshot_dir, "03c-reset-page")
    user_page.get_by_role("button", name="Set password").click()
    expect(user_page).to_have_url(re.compile(r"/login$"))
    _log_in(user_page, username, LINK_PASSWORD)
    expect(user_page).to_have_url(re.compile(r"/worklist$"))
    page.get_by_role("link", name="Back to the users").click()

    # ...until the admin disables them: their very next request goes to the login page.
    page.reload()
    expect(row.get_by_role("cell").nth(4)).not_to_have_text("never")
    row.get_by_role("button", name=f"Disable {username}").click()
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    expect(row).to_contain_text("no, disabled")
    expect(row.get_by_role("button", name=f"Enable {username}")).to_be_visible()
    _shot(page, screenshot_dir, "04-disabled")

    user_page.reload()
    expect(user_page).to_have_url(re.compile(r"/login$"))
    _log_in(user_page, username, LINK_PASSWORD)
    expect(user_page.get_by_role("alert")).to_have_text("Unknown user or wrong password.")
    _shot(user_page, screenshot_dir, "05-disabled-user-refused")
    user_context.close()
    admin_context.close()
    assert console_errors == []


def test_admin_makes_a_token_that_is_shown_once_and_revokes_it(
    browser: Browser, live_server: str, screenshot_dir: Path
) -> None:
    name = f"pharmacy_system_{uuid.uuid4().hex[:8]}"  # the username rule
    context = _context(browser, live_server)
    page = context.new_page()
    _log_in(page, "ada.admin", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()
    page.get_by_role("link", name="New API token").click()
    page.get_by_label("Name of the client system").fill(name)
    page.get_by_label("Clinic").select_option(label="Default clinic")
    page.get_by_label("patients:read").check()
    page.get_by_label("Expires after (days)").fill("30")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("API token").input_value()
    assert re.fullmatch(r"tt_[A-Za-z0-9_-]{40,}", token)
    _shot(page, screenshot_dir, "06-token-shown-once")

    api = context.request
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/patients", headers=headers).status == 200
    page.get_by_role("link", name="Back to the API tokens").click()
    assert token not in page.content()
    row = page.locator("tr", has=page.get_by_role("cell", name=name, exact=True))
    row.get_by_role("button", name=f"Revoke {name}").click()
    expect(row).to_contain_text("revoked")
    _shot(page, screenshot_dir, "07-token-revoked")
    assert api.get("/api/v1/patients", headers=headers).status == 401
    context.close()


def _record_error(errors: list[str], msg: ConsoleMessage) -> None:
    # The 422 of the invalid form is expected; Chromium logs every 4xx fetch as an error.
    if msg.type == "error" and "status of 422" not in msg.text:
        errors.append(f"{msg.text} (at {msg.location.get('url')})")
