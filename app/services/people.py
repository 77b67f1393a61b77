"""How pages name people: display name and professional title, the username without them.

Plan versions, reviews and audit rows keep the username that was true when they were written
(they are append-only); pages look up today's display name for it. No patient data is read, so
nothing is audited; the read ends with the call (services commit once per call).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from app.db.repositories import users as user_repo


def display_names(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    """Username -> "Dr Ana Meyer, Consultant neurologist" for every user named who has a
    display name or title; the others are left out (pages show their username)."""
    names = user_repo.display_names(session, usernames)
    session.commit()
    return names
