"""Issue 13: "no per-token rate limit (RELIABILITY S7 promises one)" and "a known username
can be locked out for 15 minutes by anyone"."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.models import AuditEventRecord
from app.request_limits import RequestLimiter
from tests.factories.users import make_token
from tests.security.test_rate_limit import WRONG, _limited_client
from tests.web.helpers import log_in


def test_no_per_token_rate_limit_now_429_with_retry_after_audited_once(
    settings: Settings, session_factory: sessionmaker[Session], db: Session
) -> None:
    token = make_token(db, "patients:read", name="busy_ehr")
    headers = {"Authorization": f"Bearer {token}"}
    mark = db.scalar(select(func.max(AuditEventRecord.id))) or 0
    limits = {"token_requests_per_minute": 60, "request_burst": 5}
    for client in _limited_client(settings, session_factory, **limits):
        statuses = [client.get("/api/v1/patients", headers=headers) for _ in range(8)]
    assert [r.status_code for r in statuses] == [200] * 5 + [429] * 3
    refused = statuses[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    assert refused.headers["content-type"].startswith("application/problem+json")
    rows = list(
        db.scalars(
            select(AuditEventRecord).where(
                AuditEventRecord.id > mark,
                AuditEventRecord.action == "excess_rate_limit_exceeded",
            )
        )
    )
    assert len(rows) == 1  # the first refusal of the run, not one write per refused request
    assert (rows[0].actor_kind, rows[0].actor_name) == ("token", "busy_ehr")


def test_per_user_rate_limit_on_pages(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    limits = {"user_requests_per_minute": 60, "request_burst": 3}
    for client in _limited_client(settings, session_factory, **limits):
        log_in(client, "vera.viewer")
        statuses = [client.get("/patients").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


def test_request_limiter_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RequestLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    key = ("token", 1)
    assert limiter.wait(key) == (0.0, False)
    assert limiter.wait(key) == (0.0, False)
    wait, first = limiter.wait(key)
    assert (round(wait, 3), first) == (1.0, True)
    assert limiter.wait(key)[1] is False  # the same run: not audited again
    now[0] = 1.0
    assert limiter.wait(key) == (0.0, False)
    assert limiter.wait(("token", 2)) == (0.0, False)  # another token has its own bucket


def test_known_username_locked_out_by_anyone_the_owner_still_logs_in(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    limits = {"login_max_failures_per_account": 3}
    for attacker in _limited_client(settings, session_factory, peer="203.0.113.66", **limits):
        statuses = [log_in(attacker, "paula.prescriber", WRONG).status_code for _ in range(5)]
        assert statuses[-1] == 429
    for owner in _limited_client(settings, session_factory, peer="198.51.100.77", **limits):
        assert log_in(owner, "paula.prescriber").status_code == 303


def test_guesses_spread_over_addresses_still_lock_those_addresses(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    limits = {"login_max_failures_per_account": 1}  # × 10 across addresses
    for n in range(10):
        for guesser in _limited_client(
            settings, session_factory, peer=f"203.0.113.{n + 1}", **limits
        ):
            assert log_in(guesser, "phil.pharmacist", WRONG).status_code == 401
    for guesser in _limited_client(settings, session_factory, peer="203.0.113.1", **limits):
        assert log_in(guesser, "phil.pharmacist", WRONG).status_code == 429
    for owner in _limited_client(settings, session_factory, peer="198.51.100.78", **limits):
        assert log_in(owner, "phil.pharmacist").status_code == 303
