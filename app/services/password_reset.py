"""Password reset by one-time link (issue 13, OWASP ASVS 5.0 V6): the admin never knows a
usable password.

An admin's reset makes a link (256 random bits; only its SHA-256 is stored) that is valid for
`LINK_LIFETIME`, once, and only until a newer link for the same user is made. Making it ends
every session of the user and replaces their password with one nobody knows, so whatever
prompted the reset (a forgotten or a leaked password) stops working at once. The admin hands
the link to the user, who chooses the new password on the link's page under the password
policy; that ends the user's sessions again and the link. Both steps are audited; neither
row holds the link or a password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.db.models import PasswordResetLinkRecord, UserRecord
from app.db.repositories import accounts as account_repo
from app.db.repositories import users as user_repo
from app.domain.patients import FieldProblem
from app.services import audit, auth, session_cache
from app.services.audit import AuditEntry
from app.services.context import Actor, utc_now
from app.services.errors import InvalidInput, NotFound
from app.services.password_policy import password_problems
from app.services.reads import read_only

LINK_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class ResetLink:
    """What the admin's page shows once: the secret goes into the link's address."""

    secret: str
    username: str
    expires_at: datetime


def unknown_password_hash() -> str:
    """A hash of a password nobody knows, to replace the user's at a reset (argon2: compute
    it before the transaction, as on SQLite an open one holds the only write lock)."""
    return auth.hash_password(secrets.token_urlsafe(32))


def issue_link(
    session: Session, *, actor: Actor, user: UserRecord, password_hash: str
) -> ResetLink:
    """Called by services.admin.reset_password after its permission and clinic checks, with
    `unknown_password_hash()` made before them."""
    now = utc_now()
    account_repo.end_reset_links(session, user.id, at=now)
    secret = secrets.token_urlsafe(32)
    link = PasswordResetLinkRecord(
        user_id=user.id,
        token_sha256=auth.sha256_hex(secret),
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    account_repo.add_reset_link(session, link)
    user.password_hash = password_hash
    user.must_change_password = False  # the link's page is where the new one is chosen
    ended = account_repo.end_open_sessions(session, user.id, at=now)
    detail = {
        "sessions_ended": ended,
        "reset_link": link.id,
        "link_expires_at": link.expires_at.isoformat(timespec="seconds"),
    }
    entry = AuditEntry(
        "user.password_reset", "user", str(user.id), detail=detail, clinic_id=user.clinic_id
    )
    audit.record(session, actor, entry)
    user_id, username = user.id, user.username
    session.commit()
    session_cache.forget_user(user_id)  # its sessions ended: refused on the next request
    return ResetLink(secret, username, link.expires_at)


def username_for_link(session: Session, *, secret: str) -> str:
    """The username the open link belongs to (shown on its page); NotFound for a link that
    is unknown, used, replaced or expired, or whose user is disabled."""
    with read_only(session):
        link = account_repo.open_reset_link(session, auth.sha256_hex(secret), now=utc_now())
        user = user_repo.get_user(session, link.user_id) if link is not None else None
        if user is None or not user.is_active:
            raise NotFound("reset link not valid")
        return user.username


def set_password_by_link(
    session: Session, *, secret: str, new: str, new_again: str, actor: Actor
) -> None:
    """The user's new password, chosen on the link's page. `actor` is the anonymous request
    (its address and request id); the row is written as the user."""
    username = username_for_link(session, secret=secret)
    problems: tuple[FieldProblem, ...] = ()
    if new != new_again:
        problems = (FieldProblem("password_again", "The two passwords differ."),)
    else:
        problems = password_problems(new, username=username)
    if problems:
        raise InvalidInput(problems)
    new_hash = auth.hash_password(new)  # outside any transaction, as at login
    now = utc_now()
    link = account_repo.open_reset_link(session, auth.sha256_hex(secret), now=now)
    user = user_repo.get_user(session, link.user_id) if link is not None else None
    if link is None or user is None or not user.is_active:
        session.rollback()
        raise NotFound("reset link not valid")
    if not account_repo.claim_reset_link(session, link.id, at=now):
        session.rollback()  # another request used it meanwhile
        raise NotFound("reset link not valid")
    user.password_hash = new_hash
    user.must_change_password = False
    ended = account_repo.end_open_sessions(session, user.id, at=now)
    as_user = Actor(
        kind="user",
        id=user.id,
        name=user.username,
        role=user.role,
        clinic_id=user.clinic_id,
        request_id=actor.request_id,
        client_ip=actor.client_ip,
    )
    detail = {"reset_link": link.id, "sessions_ended": ended}
    entry = AuditEntry("user.password_set", "user", str(user.id), detail=detail)
    audit.record(session, as_user, entry)
    user_id = user.id
    session.commit()
    session_cache.forget_user(user_id)  # its sessions ended: refused on the next request
