"""Fixtures for the HTML surface: a client logged in through the real login form.

Everything runs inside the transactional `client`/`db` fixtures of tests/conftest.py, so
patients made here are rolled back after each test.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.helpers import header_csrf, hidden_csrf, log_in


@pytest.fixture
def logged_in_client(client: TestClient) -> TestClient:
    """`client`, logged in as paula.prescriber by GET /login and a POST of the real form."""
    response = log_in(client, "paula.prescriber")
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def csrf_token(logged_in_client: TestClient) -> str:
    """The session's synchronizer token, as the pages hand it to htmx and to plain forms."""
    page = logged_in_client.get("/patients/new")
    token = header_csrf(page.text)
    assert token == hidden_csrf(page.text)
    return token
