"""Queries behind the administration pages: users with their last login, tokens, sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.models import (
    ApiTokenRecord,
    ClinicRecord,
    PasswordResetLinkRecord,
    UserRecord,
    UserSessionRecord,
)
from app.db.repositories.users import person_label
from app.db.row_ids import is_possible_row_id


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    username: str
    role: str
    clinic_name: str
    is_active: bool
    last_login_at: datetime | None
    person: str = ""  # "Dr Ana Meyer, Consultant neurologist"; the username without a name


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    name: str
    clinic_name: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def list_users(session: Session, *, clinic_id: int | None) -> list[UserRow]:
    # Every login opens a session row, so the newest one is the last login.
    last_login = (
        select(UserSessionRecord.user_id, func.max(UserSessionRecord.created_at).label("at"))
        .group_by(UserSessionRecord.user_id)
        .subquery()
    )
    query = (
        select(UserRecord, ClinicRecord.name, last_login.c.at)
        .join(ClinicRecord, ClinicRecord.id == UserRecord.clinic_id)
        .outerjoin(last_login, last_login.c.user_id == UserRecord.id)
        .order_by(UserRecord.username)
    )
    if clinic_id is not None:
        query = query.where(UserRecord.clinic_id == clinic_id)
    return [
        UserRow(
            user.id,
            user.username,
            user.role,
            clinic,
            user.is_active,
            at,
            person_label(user.username, user.display_name, user.professional_title),
        )
        for user, clinic, at in session.execute(query)
    ]


def list_tokens(session: Session, *, clinic_id: int | None) -> list[TokenRow]:
    query = (
        select(ApiTokenRecord, ClinicRecord.name)
        .join(ClinicRecord, ClinicRecord.id == ApiTokenRecord.clinic_id)
        .order_by(ApiTokenRecord.created_at.desc(), ApiTokenRecord.id.desc())
    )
    if clinic_id is not None:
        query = query.where(ApiTokenRecord.clinic_id == clinic_id)
    return [
        TokenRow(
            token.id,
            token.name,
            clinic,
            tuple(token.scopes),
            token.created_at,
            token.expires_at,
            token.revoked_at,
        )
        for token, clinic in session.execute(query)
    ]


def get_token_by_id(session: Session, token_id: int) -> ApiTokenRecord | None:
    if not is_possible_row_id(token_id):  # the database would fail on it, not find nothing
        return None
    return session.get(ApiTokenRecord, token_id)


def end_open_sessions(session: Session, user_id: int, *, at: datetime) -> int:
    """Ends every open session of a user; returns how many were open."""
    result = session.execute(
        update(UserSessionRecord)
        .where(UserSessionRecord.user_id == user_id, UserSessionRecord.ended_at.is_(None))
        .values(ended_at=at)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def username_taken(session: Session, username: str) -> bool:
    """Case-insensitively: "Paula.P" next to "paula.p" would be a look-alike account."""
    query = select(UserRecord.id).where(func.lower(UserRecord.username) == username.lower())
    return session.scalars(query).first() is not None


def clinic_name_taken(session: Session, name: str) -> bool:
    query = select(ClinicRecord.id).where(func.lower(ClinicRecord.name) == name.lower())
    return session.scalars(query).first() is not None


# --- one-time password reset links (issue 13) ----------------------------------------------


def add_reset_link(session: Session, link: PasswordResetLinkRecord) -> None:
    session.add(link)
    session.flush()


def end_reset_links(session: Session, user_id: int, *, at: datetime) -> int:
    """Ends the user's links that are still open (a newer link replaces them)."""
    result = session.execute(
        update(PasswordResetLinkRecord)
        .where(
            PasswordResetLinkRecord.user_id == user_id,
            PasswordResetLinkRecord.used_at.is_(None),
            PasswordResetLinkRecord.ended_at.is_(None),
        )
        .values(ended_at=at)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def open_reset_link(
    session: Session, token_sha256: str, *, now: datetime
) -> PasswordResetLinkRecord | None:
    """The link with this hash if it is unused, not replaced and not expired."""
    query = select(PasswordResetLinkRecord).where(
        PasswordResetLinkRecord.token_sha256 == token_sha256,
        PasswordResetLinkRecord.used_at.is_(None),
        PasswordResetLinkRecord.ended_at.is_(None),
        PasswordResetLinkRecord.expires_at > now,
    )
    return session.scalars(query).first()


def claim_reset_link(session: Session, link_id: int, *, at: datetime) -> bool:
    """Marks the link used, if it still was open: of two requests racing with the same link,
    exactly one gets True (one conditional UPDATE)."""
    result = session.execute(
        update(PasswordResetLinkRecord)
        .where(
            PasswordResetLinkRecord.id == link_id,
            PasswordResetLinkRecord.used_at.is_(None),
            PasswordResetLinkRecord.ended_at.is_(None),
            PasswordResetLinkRecord.expires_at > at,
        )
        .values(used_at=at)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1
