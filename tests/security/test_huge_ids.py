"""Ids no row can have (≥ 2**31 up to far past 2**63) on every route, as every role and
with every scope: 404 or 422, never a 500 (issue 13: ids ≥ 2**63 on admin routes were 500s)."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.access_requests import IF_MATCH, api_body, web_form
from tests.factories.clinics import default_clinic_id, make_clinic_token
from tests.factories.routes import iter_routes
from tests.factories.users import STANDARD_USERS
from tests.web.helpers import header_csrf, log_in

HUGE_IDS = (2**31, 2**63, 2**64 + 1, 10**40)
_ID = re.compile(r"\{[a-z_]*id\}")


def _routes_with_ids(app: FastAPI, *, api: bool) -> list[tuple[str, str]]:
    return sorted(
        (method, path)
        for method, path, _ in iter_routes(app)
        if _ID.search(path) and path.startswith("/api/") == api
    )


@pytest.mark.parametrize("username", sorted(STANDARD_USERS))
def test_huge_ids_on_every_page_are_404_or_422_never_500(
    client: TestClient, app: FastAPI, username: str
) -> None:
    log_in(client, username)
    page = client.get("/patients")
    page = page if page.status_code == 200 else client.get("/admin/users")
    csrf = {"X-CSRF-Token": header_csrf(page.text)}
    failures = []
    for method, path in _routes_with_ids(app, api=False):
        for huge in HUGE_IDS:
            url = _ID.sub(str(huge), path)
            form = web_form(method, path)
            response = client.request(method, url, data=form or None, headers=csrf)
            if response.status_code >= 500:
                failures.append(f"{method} {url}: {response.status_code}")
    assert failures == []


def test_huge_ids_on_every_api_route_are_404_or_422_never_500(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    token = make_clinic_token(db, default_clinic_id(db))
    headers = {"Authorization": f"Bearer {token}"} | IF_MATCH
    failures = []
    for method, path in _routes_with_ids(app, api=True):
        for huge in HUGE_IDS:
            url = _ID.sub(str(huge), path)
            response = client.request(method, url, json=api_body(method, path), headers=headers)
            if response.status_code >= 500:
                failures.append(f"{method} {url}: {response.status_code}")
    assert failures == []
