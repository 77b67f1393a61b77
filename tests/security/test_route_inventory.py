"""Every route is public or protected: a new route cannot slip in unclassified."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Mount

from app.cds.routes import cds_caller
from app.web.deps import current_clinician, signed_in
from tests.factories.routes import iter_routes

# The allowlist: (method, path) pairs anyone may call. Everything else needs a login or a token.
PUBLIC_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/"),  # only redirects to the patient list, which itself requires login
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    # A calendar app sends no token: the feed's address is its secret (ACCESS.md).
    ("GET", "/api/v1/calendar-feeds/{token}.ics"),
    ("GET", "/cds-services"),  # CDS Hooks discovery is public by the standard
    ("GET", "/smart/launch"),  # a SMART launch starts logged out; the EHR vouches for the user
    ("GET", "/smart/callback"),
    # A password reset link: its address holds a one-time secret an admin handed over.
    ("GET", "/account/reset/{secret}"),
    ("POST", "/account/reset/{secret}"),
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_is_public_or_protected(app: FastAPI) -> None:
    unclassified = []
    for method, path, calls in iter_routes(app):
        if (method, path) in PUBLIC_ROUTES:
            continue
        if path.startswith("/api/"):
            protected = any(hasattr(call, "required_scopes") for call in calls)
        elif path.startswith("/cds-services"):
            protected = cds_caller in calls  # the EHR's signed JWT
        else:
            # signed_in: a live session that may still have to change its password (account pages).
            protected = current_clinician in calls or signed_in in calls
        if not protected:
            unclassified.append(f"{method} {path}")
    assert unclassified == []


def test_the_only_mount_is_static_files(app: FastAPI) -> None:
    assert [r.path for r in app.routes if isinstance(r, Mount)] == ["/static"]


def _surface(path: str) -> str:
    return "api" if path.startswith("/api/") else "cds" if path.startswith("/cds-") else "web"


@pytest.mark.parametrize("surface", ["api", "web", "cds"])
def test_protected_routes_refuse_anonymous_callers(
    client: TestClient, app: FastAPI, surface: str
) -> None:
    checked = 0
    for method, path, _ in iter_routes(app):
        if (method, path) in PUBLIC_ROUTES or _surface(path) != surface:
            continue
        response = client.request(method, _concrete(path))
        checked += 1
        if surface in ("api", "cds"):
            assert response.status_code == 401, f"{method} {path}"
            assert response.headers["content-type"].startswith("application/problem+json")
        else:
            assert response.status_code == 303, f"{method} {path}"
            assert response.headers["location"].endswith("/login")
    assert checked > 0


def test_cookies_never_authenticate_an_api_call(client: TestClient) -> None:
    from tests.factories.sessions import log_in

    log_in(client)
    assert client.get("/api/v1/patients").status_code == 401
