"""Fixtures for printed documents: an API token to store plans, a clinician logged in to print."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.sessions import log_in
from tests.factories.users import make_token


@pytest.fixture
def api_headers(db: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(db)}"}


@pytest.fixture
def prescriber(client: TestClient) -> TestClient:
    """`client` logged in as paula.prescriber (prescribers may print)."""
    log_in(client, "paula.prescriber")
    return client
