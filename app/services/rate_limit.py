"""Login rate limits, counted in the database so every worker and instance sees one count.

After `max_failures` failed logins within the window, for one account from one client
address, or from one client address at all, each further attempt is refused without checking
the password until a lockout has passed since the last failure. The lockout starts at
`lockout_initial` and doubles with every failure (refused attempts count too), up to
`lockout_max` (the exponential lockout of the OWASP Authentication Cheat Sheet; NIST SP
800-63B §5.2.2 allows at most 100 consecutive failures).
Unknown usernames are counted like real ones, so a refusal never tells whether an account
exists.

The account's count is kept per client address (issue 13: anyone who knew a username could
lock its owner out for 15 minutes). Guesses spread over many addresses are still stopped:
after `ACCOUNT_WIDE_FACTOR` × the per-account limit across all addresses, the account is
refused to every address that has itself failed for it, while an address that has not (the
owner's own computer) keeps getting its password checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.db.repositories import login_attempts as attempt_repo
from app.db.repositories.login_attempts import FailureCount
from app.services.errors import ServiceError

# login_attempt is a counter, not the audit trail (which keeps every refusal for good).
ATTEMPT_RETENTION = timedelta(days=1)
_MAX_DOUBLINGS = 30
ACCOUNT_WIDE_FACTOR = 10  # 2**30 lockouts exceed any cap; stops the power from growing unbounded


@dataclass(frozen=True, slots=True)
class LoginLimits:
    max_failures_per_account: int
    max_failures_per_client_ip: int
    window: timedelta
    lockout_initial: timedelta
    lockout_max: timedelta


class LoginRefused(ServiceError):
    """Too many failed logins: this attempt was refused without looking at the password."""

    code = "rate_limited"

    def __init__(self, retry_after: timedelta) -> None:
        super().__init__("too many failed logins")
        self.retry_after = retry_after

    @property
    def retry_after_seconds(self) -> int:
        return max(1, math.ceil(self.retry_after.total_seconds()))


def account_key(username: str) -> str:
    """The account as typed, case-folded: "Paula" and "paula" share one counter."""
    return username.strip().casefold()[:64]


def wait_before_attempt(
    session: Session,
    *,
    account: str,
    client_ip: str | None,
    limits: LoginLimits,
    now: datetime,
) -> timedelta | None:
    """How long this caller must still wait, or None when the password may be checked."""
    since = now - limits.window
    from_here = attempt_repo.account_client_failures(session, account, client_ip, since=since)
    waits = [_lockout_left(from_here, limits.max_failures_per_account, limits, now)]
    if from_here.failures:
        everywhere = attempt_repo.account_failures(session, account, since=since)
        limit = limits.max_failures_per_account * ACCOUNT_WIDE_FACTOR
        waits.append(_lockout_left(everywhere, limit, limits, now))
    if client_ip:
        waits.append(
            _lockout_left(
                attempt_repo.client_ip_failures(session, client_ip, since=since),
                limits.max_failures_per_client_ip,
                limits,
                now,
            )
        )
    return max((wait for wait in waits if wait is not None), default=None)


def record_failed_attempt(
    session: Session, *, account: str, client_ip: str | None, now: datetime
) -> int:
    """Counts an attempt as failed (until `mark_succeeded`) and drops attempts older than a
    day. Counted before the password is checked, so attempts still in flight count too."""
    attempt_repo.delete_attempts_before(session, now - ATTEMPT_RETENTION)
    return attempt_repo.add_attempt(
        session, account=account, client_ip=client_ip, succeeded=False, at=now
    )


def mark_succeeded(session: Session, attempt_id: int) -> None:
    attempt_repo.mark_succeeded(session, attempt_id)


def _lockout_left(
    count: FailureCount, max_failures: int, limits: LoginLimits, now: datetime
) -> timedelta | None:
    if count.failures < max_failures or count.last_failure_at is None:
        return None
    doublings = min(count.failures - max_failures, _MAX_DOUBLINGS)
    lockout = min(limits.lockout_initial * 2**doublings, limits.lockout_max)
    left = count.last_failure_at + lockout - now
    return left if left > timedelta(0) else None
