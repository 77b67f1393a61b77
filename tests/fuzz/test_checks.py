"""The project's own Schemathesis checks fail on what they are meant to catch."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.middleware import CONTENT_SECURITY_POLICY
from tests.fuzz.checks import no_internal_details, security_headers

GOOD_HEADERS = {
    "content-security-policy": [CONTENT_SECURITY_POLICY],
    "x-content-type-options": ["nosniff"],
    "referrer-policy": ["no-referrer"],
    "cache-control": ["no-store"],
    "content-type": ["application/problem+json"],
}


def _response(status: int = 200, body: bytes = b"{}", **headers: list[str]) -> SimpleNamespace:
    merged = {**GOOD_HEADERS, **{k.replace("_", "-"): v for k, v in headers.items()}}
    return SimpleNamespace(status_code=status, content=body, headers=merged)


def test_the_app_s_own_headers_pass() -> None:
    security_headers(None, _response(), None)


@pytest.mark.parametrize(
    "headers",
    [
        {"content_security_policy": ["default-src 'self'"]},
        {"content_security_policy": [CONTENT_SECURITY_POLICY + "; script-src 'unsafe-inline'"]},
        {"x_content_type_options": []},
        {"referrer_policy": []},
        {"cache_control": ["max-age=60"]},
    ],
)
def test_a_missing_or_weak_header_fails(headers: dict[str, list[str]]) -> None:
    with pytest.raises(AssertionError):
        security_headers(None, _response(**headers), None)


@pytest.mark.parametrize(
    "body",
    [
        b'Traceback (most recent call last):\n  File "/work/main/app/x.py"',
        b'{"detail": "(psycopg.errors.DataError) integer out of range"}',
        b'{"detail": "SELECT patient.id FROM patient WHERE"}',
        b"sqlite3.OperationalError: database is locked",
    ],
)
def test_an_error_that_shows_internals_fails(body: bytes) -> None:
    with pytest.raises(AssertionError):
        no_internal_details(None, _response(500, body), None)


def test_a_problem_answer_passes_and_successes_are_not_read() -> None:
    problem = b'{"type":"/problems/not-found","title":"Not found","detail":"No such plan."}'
    no_internal_details(None, _response(404, problem), None)
    # A stored reason may quote anything, SQL included: only error answers are checked.
    no_internal_details(None, _response(200, b'{"reason": "SELECT * FROM x"}'), None)
