"""Login attempts: the shared counters behind login rate limits (not the audit trail, so old
rows may be deleted)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from app.db.models import LoginAttemptRecord


@dataclass(frozen=True, slots=True)
class FailureCount:
    failures: int
    last_failure_at: datetime | None


def add_attempt(
    session: Session, *, account: str, client_ip: str | None, succeeded: bool, at: datetime
) -> int:
    attempt = LoginAttemptRecord(
        account=account, client_ip=client_ip, attempted_at=at, succeeded=succeeded
    )
    session.add(attempt)
    session.flush()
    return attempt.id


def mark_succeeded(session: Session, attempt_id: int) -> None:
    attempt = session.get(LoginAttemptRecord, attempt_id)
    if attempt is not None:  # gone only if pruned a day later: nothing left to mark
        attempt.succeeded = True
        session.flush()


def delete_attempts_before(session: Session, cutoff: datetime) -> None:
    session.execute(delete(LoginAttemptRecord).where(LoginAttemptRecord.attempted_at < cutoff))


def account_failures(session: Session, account: str, *, since: datetime) -> FailureCount:
    """Failures for an account since `since` or its last successful login, whichever is later."""
    last_success = session.scalar(
        select(func.max(LoginAttemptRecord.attempted_at)).where(
            LoginAttemptRecord.account == account,
            LoginAttemptRecord.succeeded.is_(True),
            LoginAttemptRecord.attempted_at >= since,
        )
    )
    start = max(since, last_success) if last_success is not None else since
    return _failures(session, LoginAttemptRecord.account == account, since=start)


def account_client_failures(
    session: Session, account: str, client_ip: str | None, *, since: datetime
) -> FailureCount:
    """Failures for an account from one client address (NULL: an unknown address)."""
    start = _after_last_success(session, account, since)
    same_client = (
        LoginAttemptRecord.client_ip.is_(None)
        if client_ip is None
        else LoginAttemptRecord.client_ip == client_ip
    )
    return _failures(session, (LoginAttemptRecord.account == account) & same_client, since=start)


def _after_last_success(session: Session, account: str, since: datetime) -> datetime:
    last_success = session.scalar(
        select(func.max(LoginAttemptRecord.attempted_at)).where(
            LoginAttemptRecord.account == account,
            LoginAttemptRecord.succeeded.is_(True),
            LoginAttemptRecord.attempted_at >= since,
        )
    )
    return max(since, last_success) if last_success is not None else since


def client_ip_failures(session: Session, client_ip: str, *, since: datetime) -> FailureCount:
    # A success from a shared address does not reset it: an attacker may share it too.
    return _failures(session, LoginAttemptRecord.client_ip == client_ip, since=since)


def _failures(session: Session, key: ColumnElement[bool], *, since: datetime) -> FailureCount:
    count, last = session.execute(
        select(func.count(), func.max(LoginAttemptRecord.attempted_at)).where(
            key,
            LoginAttemptRecord.succeeded.is_(False),
            LoginAttemptRecord.attempted_at >= since,
        )
    ).one()
    return FailureCount(int(count), last)
