"""Checks Schemathesis runs on every response besides its own (RELIABILITY.md S6 and S9).

Plain `(ctx, response, case)` functions: the pytest run passes them explicitly, and
tests/fuzz/hooks.py registers them for the command-line run of bench/schemathesis.sh.
"""

from __future__ import annotations

import re
from typing import Any

# What an error must never show a client: a traceback, a driver or ORM name, SQL, a path.
_LEAKS = re.compile(
    r"Traceback|File \"|sqlalchemy|psycopg|sqlite3|OperationalError|IntegrityError|DataError"
    r"|\bSELECT\b.+\bFROM\b|\bINSERT INTO\b|\bUPDATE\b.+\bSET\b|/site-packages/|/work/|secret_key",
    re.IGNORECASE | re.DOTALL,
)
_REQUIRED_CSP = ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'")


def _header(response: Any, name: str) -> str:
    values = response.headers.get(name.lower()) or []
    return str(values[0]) if values else ""


def security_headers(ctx: Any, response: Any, case: Any) -> None:
    """S6 on every response the fuzzer provokes, errors included."""
    csp = _header(response, "Content-Security-Policy")
    missing = [part for part in _REQUIRED_CSP if part not in csp]
    assert not missing, f"CSP lacks {missing}: {csp!r}"
    assert "unsafe-inline" not in csp, csp
    assert "unsafe-eval" not in csp, csp
    assert _header(response, "X-Content-Type-Options") == "nosniff"
    assert _header(response, "Referrer-Policy"), "no Referrer-Policy"
    assert _header(response, "Cache-Control") == "no-store", "an API answer may be cached"
    content_type = _header(response, "Content-Type")
    if content_type.startswith(("text/", "application/json", "application/problem+json")):
        assert "charset" in content_type or "json" in content_type, content_type


def no_internal_details(ctx: Any, response: Any, case: Any) -> None:
    """S9: no answer, least of all an error, tells the client how the server is built."""
    if response.status_code < 400:
        return
    text = response.content.decode("utf-8", errors="replace")
    found = _LEAKS.search(text)
    assert found is None, f"the {response.status_code} answer shows {found.group(0)!r}"
