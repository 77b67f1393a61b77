"""Logging in through the real login form, as a person does (made-up users of the test database)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.factories.users import PASSWORD


def log_in_through_the_form(page: Page, username: str = "paula.prescriber") -> None:
    """Fills /login and waits until the browser has left it (a refused login stays there)."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login$"))
