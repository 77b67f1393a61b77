"""Users and API tokens for tests. Users are committed once per run (argon2 is slow on purpose)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.db.repositories import users as user_repo
from app.services import auth

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


def make_token(session: Session, *scopes: str, name: str = "test-client") -> str:
    return auth.create_token(session, name=name, scopes=scopes or auth.SCOPES, expires_at=None)
