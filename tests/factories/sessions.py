"""Logging a TestClient in through the real login form."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.factories.users import PASSWORD

_HIDDEN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HX_HEADERS = re.compile(r'"X-CSRF-Token": "([^"]+)"')


def log_in(client: TestClient, username: str = "paula.prescriber") -> str:
    """Logs in and returns the session's CSRF token (as the pages carry it)."""
    form = client.get("/login")
    login_token = _HIDDEN_CSRF.search(form.text)
    assert login_token, "login form has no CSRF field"
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": login_token.group(1)},
    )
    assert response.status_code == 303, response.text
    return csrf_token_of(client.get("/patients").text)


def csrf_token_of(page: str) -> str:
    match = _HX_HEADERS.search(page)
    assert match, "page carries no CSRF token in hx-headers"
    return match.group(1)
