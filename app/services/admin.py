"""Administration: users, API tokens and clinics. Only actors with the matching operation
(`user.manage`, `token.manage`, `clinic.manage`: the admin role, or the command line) get in.

Every change is one transaction with its audit row, the admin as actor. Disabling a user or
resetting their password ends every session they have at once, so a stolen or shared login
stops working on its very next request; revoking a token works the same way for API clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from app.db.models import ROLES, ClinicRecord, UserRecord
from app.db.repositories import accounts as account_repo
from app.db.repositories import clinics as clinic_repo
from app.db.repositories import users as user_repo
from app.db.repositories.accounts import TokenRow, UserRow
from app.domain.patients import FieldProblem
from app.services import audit, auth, password_reset, session_cache, token_cache
from app.services.audit import AuditEntry
from app.services.context import Actor, utc_now
from app.services.errors import Forbidden, InvalidInput, NotFound
from app.services.password_policy import password_problems
from app.services.password_reset import ResetLink
from app.services.permissions import admin_scope, can, require

MAX_TOKEN_DAYS = 730


@dataclass(frozen=True, slots=True)
class NewUser:
    username: str
    password: str
    role: str
    clinic_id: int | None  # None: not chosen (refused; only the command line has a default)
    display_name: str | None = None
    professional_title: str | None = None


@dataclass(frozen=True, slots=True)
class NewToken:
    name: str
    scopes: tuple[str, ...]
    expires_in_days: int | None
    clinic_id: int | None


def list_users(session: Session, *, actor: Actor) -> list[UserRow]:
    require(actor, "user.manage")
    return account_repo.list_users(session, clinic_id=admin_scope(actor))


def create_user(session: Session, *, actor: Actor, new: NewUser) -> int:
    require(actor, "user.manage")
    problems = auth.user_problems(new.username, new.password, new.role)
    if len(new.password) >= auth.MIN_PASSWORD_LENGTH:  # the short case is in user_problems
        problems += _password_problems(new.password)
    problems += auth.name_problems(new.display_name, new.professional_title)
    problems += _clinic_problems(session, actor, new.clinic_id)
    if account_repo.username_taken(session, new.username):
        problems += (FieldProblem("username", "That username is taken."),)
    if problems:
        raise InvalidInput(problems)
    return auth.create_user(
        session,
        username=new.username,
        password=new.password,
        role=new.role,
        clinic_id=new.clinic_id,
        actor=actor,
        display_name=new.display_name,
        professional_title=new.professional_title,
        # The admin typed this password: it only opens the change-password page, where the
        # user chooses one the admin never knew (issue 13). The command line's operator
        # sets up their own account and is not asked again.
        must_change_password=actor.kind == "user",
    )


def get_user(session: Session, *, actor: Actor, user_id: int) -> UserRecord:
    require(actor, "user.manage")
    return _user(session, actor, user_id)


def set_user_active(session: Session, *, actor: Actor, user_id: int, active: bool) -> None:
    """Enable or disable a login; disabling ends all of the user's sessions in the same commit."""
    require(actor, "user.manage")
    user = _other_user(session, actor, user_id)
    if user.is_active == active:
        return
    user.is_active = active
    detail = None
    if not active:
        ended = account_repo.end_open_sessions(session, user.id, at=utc_now())
        detail = {"sessions_ended": ended}
    action = "user.enable" if active else "user.disable"
    entry = AuditEntry(action, "user", str(user.id), detail=detail, clinic_id=user.clinic_id)
    audit.record(session, actor, entry)
    session.commit()
    session_cache.forget_user(user_id)  # refused on this instance's next request


def reset_password(session: Session, *, actor: Actor, user_id: int) -> ResetLink:
    """A one-time link for the user to choose a new password (services/password_reset.py):
    the admin never knows a usable password (issue 13). The old password stops working and
    the user's sessions end in the same commit."""
    require(actor, "user.manage")
    password_hash = password_reset.unknown_password_hash()
    user = _user(session, actor, user_id)
    return password_reset.issue_link(session, actor=actor, user=user, password_hash=password_hash)


def change_role(session: Session, *, actor: Actor, user_id: int, role: str) -> None:
    require(actor, "user.manage")
    user = _other_user(session, actor, user_id)
    if role not in ROLES:
        raise InvalidInput((FieldProblem("role", f"Role must be one of {', '.join(ROLES)}."),))
    if user.role == role:
        return
    detail = {"from": user.role, "to": role}
    user.role = role
    audit.record(
        session,
        actor,
        AuditEntry(
            "user.role_change", "user", str(user.id), detail=detail, clinic_id=user.clinic_id
        ),
    )
    session.commit()
    session_cache.forget_user(user_id)  # the next request carries the new role


def list_tokens(session: Session, *, actor: Actor) -> list[TokenRow]:
    require(actor, "token.manage")
    return account_repo.list_tokens(session, clinic_id=admin_scope(actor))


def create_token(session: Session, *, actor: Actor, new: NewToken) -> str:
    """Returns the token: the caller shows it once; only its SHA-256 is stored."""
    require(actor, "token.manage")
    problems = auth.token_problems(new.name, new.scopes)
    problems += _clinic_problems(session, actor, new.clinic_id)
    if new.expires_in_days is None or not 1 <= new.expires_in_days <= MAX_TOKEN_DAYS:
        message = f"Between 1 and {MAX_TOKEN_DAYS} days; rotate the token before it ends."
        problems += (FieldProblem("expires_in_days", message),)
    if problems:
        raise InvalidInput(problems)
    return auth.create_token(
        session,
        name=new.name,
        scopes=new.scopes,
        expires_at=utc_now() + timedelta(days=new.expires_in_days or 0),
        clinic_id=new.clinic_id,
        actor=actor,
    )


def revoke_token(session: Session, *, actor: Actor, token_id: int) -> None:
    """A revoked token fails from the very next request on this instance (its verification is
    forgotten here, after the commit) and within token_cache.LIFETIME_SECONDS on every other."""
    require(actor, "token.manage")
    token = account_repo.get_token_by_id(session, token_id)
    scope = admin_scope(actor)
    if token is None or (scope is not None and token.clinic_id != scope):
        raise NotFound(f"token {token_id} not found")
    if token.revoked_at is not None:
        token_cache.forget(token.id)  # revoked elsewhere: stop trusting it here too
        return
    token.revoked_at = utc_now()
    entry = AuditEntry("token.revoke", "api_token", str(token.id), clinic_id=token.clinic_id)
    audit.record(session, actor, entry)
    session.commit()
    token_cache.forget(token.id)


def list_clinics(session: Session, *, actor: Actor) -> list[ClinicRecord]:
    require(actor, "clinic.manage")
    return clinic_repo.list_clinics(session)


def clinic_choices(session: Session, *, actor: Actor) -> list[ClinicRecord]:
    """The clinics a new user or token may join (for the forms' menus)."""
    if not (can(actor, "user.manage") or can(actor, "token.manage")):
        raise Forbidden("Only administrators manage users and tokens.")
    scope = admin_scope(actor)
    return [c for c in clinic_repo.list_clinics(session) if scope in (None, c.id)]


def create_clinic(session: Session, *, actor: Actor, name: str) -> int:
    require(actor, "clinic.manage")
    name = " ".join(name.split())
    if not 1 <= len(name) <= 100:
        raise InvalidInput((FieldProblem("name", "A clinic name of 1–100 characters."),))
    if account_repo.clinic_name_taken(session, name):
        raise InvalidInput((FieldProblem("name", "A clinic of that name exists."),))
    clinic = ClinicRecord(name=name, created_at=utc_now())
    clinic_repo.add(session, clinic)
    entry = AuditEntry("clinic.create", "clinic", str(clinic.id), clinic_id=clinic.id)
    audit.record(session, actor, entry)
    session.commit()
    return clinic.id


def clinic_id_by_name(session: Session, name: str) -> int:
    clinic = clinic_repo.get_clinic_by_name(session, name)
    if clinic is None:
        raise NotFound(f"no clinic named {name!r}")
    return clinic.id


def user_id_by_username(session: Session, username: str) -> int:
    user = user_repo.get_user_by_username(session, username)
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user.id


def _user(session: Session, actor: Actor, user_id: int) -> UserRecord:
    # Another clinic's user is "not found" to an admin of this clinic, as patients are.
    user = user_repo.get_user(session, user_id)
    scope = admin_scope(actor)
    if user is None or (scope is not None and user.clinic_id != scope):
        raise NotFound(f"user {user_id} not found")
    return user


def _other_user(session: Session, actor: Actor, user_id: int) -> UserRecord:
    # An admin who disables or demotes themselves could leave nobody able to administer.
    if actor.kind == "user" and actor.id == user_id:
        raise Forbidden("You cannot disable your own account or change your own role.")
    return _user(session, actor, user_id)


def _password_problems(password: str, username: str | None = None) -> tuple[FieldProblem, ...]:
    return password_problems(password, username=username)


def _clinic_problems(
    session: Session, actor: Actor, clinic_id: int | None
) -> tuple[FieldProblem, ...]:
    if clinic_id is None:
        return (FieldProblem("clinic_id", "Choose a clinic."),)
    scope = admin_scope(actor)
    if clinic_repo.get_clinic(session, clinic_id) is None or scope not in (None, clinic_id):
        return (FieldProblem("clinic_id", "Choose one of the clinics."),)
    return ()
