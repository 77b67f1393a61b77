"""Queries for users, their login sessions and API tokens."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import ApiTokenRecord, ClinicRecord, UserRecord, UserSessionRecord
from app.db.row_ids import is_possible_row_id


def get_user_by_username(session: Session, username: str) -> UserRecord | None:
    return session.scalars(select(UserRecord).where(UserRecord.username == username)).first()


def username_exists(session: Session, name: str) -> bool:
    """Whether a user goes by `name`, ignoring case: no API token may carry it, or the
    token would read as that person wherever it acted."""
    query = select(UserRecord.id).where(func.lower(UserRecord.username) == name.lower())
    return session.scalars(query.limit(1)).first() is not None


def token_name_exists(session: Session, name: str) -> bool:
    query = select(ApiTokenRecord.id).where(func.lower(ApiTokenRecord.name) == name.lower())
    return session.scalars(query.limit(1)).first() is not None


def display_names(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    """How each named user is shown: "Dr Ana Meyer, Consultant neurologist"; a user without a
    display name (or a name no longer known) keeps the username, so the map may be partial."""
    wanted = set(usernames)
    if not wanted:
        return {}
    rows = session.execute(
        select(UserRecord.username, UserRecord.display_name, UserRecord.professional_title).where(
            UserRecord.username.in_(wanted)
        )
    )
    return {
        username: person_label(username, display_name, title)
        for username, display_name, title in rows
    }


def person_label(username: str, display_name: str | None, title: str | None) -> str:
    name = display_name or username
    return f"{name}, {title}" if title else name


def any_user(session: Session) -> bool:
    return session.scalar(select(UserRecord.id).limit(1)) is not None


def get_user(session: Session, user_id: int) -> UserRecord | None:
    if not is_possible_row_id(user_id):  # the database would fail on it, not find nothing
        return None
    return session.get(UserRecord, user_id)


def add(session: Session, record: UserRecord | UserSessionRecord | ApiTokenRecord) -> None:
    session.add(record)
    session.flush()


def get_login_session(session: Session, id_sha256: str) -> UserSessionRecord | None:
    query = select(UserSessionRecord).where(UserSessionRecord.id_sha256 == id_sha256)
    return session.scalars(query).first()


def get_token(session: Session, token_sha256: str) -> ApiTokenRecord | None:
    query = select(ApiTokenRecord).where(ApiTokenRecord.token_sha256 == token_sha256)
    return session.scalars(query).first()


def default_clinic_id(session: Session) -> int:
    """The oldest clinic: where users and tokens go when no clinic is named (the migration
    creates one, so a fresh database has it)."""
    clinic_id = session.scalars(select(ClinicRecord.id).order_by(ClinicRecord.id)).first()
    if clinic_id is None:
        raise LookupError("the database has no clinic; run `titrate migrate`")
    return clinic_id


def open_sessions(session: Session, user_id: int) -> list[UserSessionRecord]:
    query = select(UserSessionRecord).where(
        UserSessionRecord.user_id == user_id, UserSessionRecord.ended_at.is_(None)
    )
    return list(session.scalars(query))
