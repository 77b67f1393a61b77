"""Users and API tokens for tests. Users are committed once per run (argon2 is slow on purpose)."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from app.db.models import ApiTokenRecord
from app.db.repositories import users as user_repo
from app.services import auth
from app.services.context import utc_now

PASSWORD = "correct horse battery staple"
STANDARD_USERS = {
    "ada.admin": "admin",
    "paula.prescriber": "prescriber",
    "phil.pharmacist": "pharmacist",
    "vera.viewer": "viewer",
}


def ensure_standard_users(session: Session) -> None:
    for username, role in STANDARD_USERS.items():
        if user_repo.get_user_by_username(session, username) is None:
            auth.create_user(session, username=username, password=PASSWORD, role=role)
    # The standard admin is the system admin (clinics, every clinic's accounts), as the
    # migration makes the first admin; tests of a clinic admin make one of their own.
    admin = user_repo.get_user_by_username(session, "ada.admin")
    if admin is not None and not admin.is_system_admin:
        admin.is_system_admin = True
        session.commit()


def make_token(session: Session, *scopes: str, name: str = "test_client") -> str:
    """A token with the scopes given (every scope when none is named: a test's shorthand).

    A name outside today's rules (a hyphen, hostile text) makes a token as stored before
    issue 13 put names under the username rules: such rows stay in existing databases, and
    every page must still show them as text."""
    scopes = scopes or auth.SCOPES
    if auth.is_plain_name(name):
        return auth.create_token(session, name=name, scopes=scopes, expires_at=None)
    token = "tt_" + secrets.token_urlsafe(32)
    record = ApiTokenRecord(
        name=name,
        token_sha256=auth.sha256_hex(token),
        scopes=sorted(set(scopes)),
        created_at=utc_now(),
        expires_at=None,
        clinic_id=user_repo.default_clinic_id(session),
    )
    user_repo.add(session, record)
    session.commit()
    return token
