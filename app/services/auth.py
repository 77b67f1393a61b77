"""Users, server-side login sessions and API tokens.

Passwords are argon2id hashes; session ids and API tokens are 256-bit random values of
which only the SHA-256 is stored, so a stolen database does not hand out live credentials.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.engine import READ_ONLY
from app.db.models import ROLES, ApiTokenRecord, UserRecord, UserSessionRecord
from app.db.repositories import users as user_repo
from app.domain.patients import FieldProblem
from app.domain.text import refused_character_problem
from app.services import audit, rate_limit, session_cache, token_cache
from app.services.audit import AuditEntry
from app.services.context import SYSTEM, Actor, utc_now
from app.services.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from app.services.password_policy import MIN_PASSWORD_LENGTH as MIN_PASSWORD_LENGTH
from app.services.password_policy import password_problems
from app.services.permissions import SCOPES as SCOPES  # what each grants: permissions.py
from app.services.rate_limit import LoginLimits
from app.services.reads import read_only

# RFC 9106 second recommendation and above the OWASP floor (m=19 MiB, t=2, p=1).
_hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)
# Verified against when the username is unknown, so both paths cost the same time. A hash of
# a throwaway password, kept as text: hashing it at import added ~0.8 s of CPU to every
# worker's start (RELIABILITY D1 wants a restart ready in < 5 s). New hasher parameters make
# it stale, and then it is hashed afresh so the two paths still cost the same.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=1$KvtZZ6cUkFXJq+fv9urjhw"
    "$DYFcIXB3wrVplEiM2en8xplvhmX56yjNiSv8Fzi00wU"
)
if _hasher.check_needs_rehash(_DUMMY_HASH):
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True, slots=True)
class LoginSession:
    """What a request knows after its cookie was checked."""

    session_id: str
    user_id: int
    username: str
    role: str
    csrf_token: str
    clinic_id: int
    display_name: str = ""  # the username when the user has none
    system_admin: bool = False
    must_change_password: bool = False


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    clinic_id: int | None = None,
    actor: Actor = SYSTEM,
    display_name: str | None = None,
    professional_title: str | None = None,
    must_change_password: bool = False,
    system_admin: bool = False,
) -> int:
    display_name, professional_title = _blank_none(display_name), _blank_none(professional_title)
    problems = user_problems(username, password, role) + name_problems(
        display_name, professional_title
    )
    if system_admin and role != ADMIN_ROLE:
        problems += (FieldProblem("role", "Only an admin can be a system admin."),)
    if problems:
        raise InvalidInput(problems)
    if user_repo.token_name_exists(session, username):
        message = "An API token already has this name; choose another username."
        raise InvalidInput((FieldProblem("username", message),))
    user = UserRecord(
        username=username,
        password_hash=hash_password(password),
        role=role,
        clinic_id=clinic_id or user_repo.default_clinic_id(session),
        is_active=True,
        created_at=utc_now(),
        display_name=display_name,
        professional_title=professional_title,
        must_change_password=must_change_password,
        is_system_admin=system_admin,
    )
    try:
        user_repo.add(session, user)
    except IntegrityError as exc:
        raise Conflict(f"user {username!r} already exists") from exc
    audit.record(
        session,
        actor,
        AuditEntry(
            "user.create",
            "user",
            str(user.id),
            detail={"role": role, **({"system_admin": True} if system_admin else {})},
            clinic_id=user.clinic_id,
        ),
    )
    session.commit()
    return user.id


def hash_password(password: str) -> str:
    return _hasher.hash(password)


NAME_RULE = "3–64 letters (A–Z), digits, '.' or '_'."


def is_plain_name(name: str) -> bool:
    """The rule for usernames and API token names. ASCII only: str.isalnum() also takes
    Cyrillic "а" or "р", and "раula.prescriber" would read as paula.prescriber wherever the
    audit trail or a plan names its author."""
    letters_and_digits = name.replace(".", "").replace("_", "")
    return 3 <= len(name) <= 64 and name.isascii() and letters_and_digits.isalnum()


def user_problems(username: str, password: str, role: str) -> tuple[FieldProblem, ...]:
    problems = []
    if not is_plain_name(username):
        problems.append(FieldProblem("username", NAME_RULE))
    problems += password_problems(password, username=username)
    if role not in ROLES:
        problems.append(FieldProblem("role", f"Role must be one of {', '.join(ROLES)}."))
    return tuple(problems)


def any_user(session: Session) -> bool:
    """Whether any account exists yet (the login page of a new installation says how to make
    the first)."""
    exists = user_repo.any_user(session)
    session.commit()
    return exists


MAX_NAME_LENGTH = 100
ADMIN_ROLE = "admin"


def set_display_name(
    session: Session,
    *,
    username: str,
    display_name: str | None,
    professional_title: str | None,
    actor: Actor = SYSTEM,
) -> None:
    """Set (or clear, with empty text) how pages and prints name a user; audited with the
    old and new values, which are names of staff, not patient data."""
    display_name, professional_title = _blank_none(display_name), _blank_none(professional_title)
    problems = name_problems(display_name, professional_title)
    if problems:
        raise InvalidInput(problems)
    user = user_repo.get_user_by_username(session, username)
    if user is None:
        raise NotFound(f"user {username!r} not found")
    detail = {
        "display_name": {"from": user.display_name, "to": display_name},
        "professional_title": {"from": user.professional_title, "to": professional_title},
    }
    user.display_name, user.professional_title = display_name, professional_title
    entry = AuditEntry("user.rename", "user", str(user.id), detail=detail, clinic_id=user.clinic_id)
    audit.record(session, actor, entry)
    user_id = user.id
    session.commit()
    session_cache.forget_user(user_id)  # pages name the user from the cached session


def name_problems(display_name: str | None, title: str | None) -> tuple[FieldProblem, ...]:
    """A display name and a title are optional, each at most 100 characters of typed text."""
    problems = []
    for field, value in (("display_name", display_name), ("professional_title", title)):
        if value is None:
            continue
        refused = refused_character_problem(value)
        if refused:
            problems.append(FieldProblem(field, refused))
        elif len(value) > MAX_NAME_LENGTH:
            problems.append(FieldProblem(field, f"At most {MAX_NAME_LENGTH} characters."))
    return tuple(problems)


def _blank_none(value: str | None) -> str | None:
    return (value or "").strip() or None


def log_in(
    session: Session,
    *,
    username: str,
    password: str,
    policy: SessionPolicy,
    limits: LoginLimits,
    actor: Actor,
) -> LoginSession:
    """Check the password and open a brand-new session (a new id at every login: no fixation).

    Raises LoginRefused, without looking at the password, while the account or the client
    address is locked out by the shared rate limit (services/rate_limit.py).

    Two short transactions instead of one: argon2 takes a good part of a second by design, and
    on SQLite an open transaction holds the database's single write lock, so checking the
    password inside one would queue every other write behind each login. The attempt is
    counted as failed in the first transaction, before the check, so parallel guesses cannot
    slip past the limit; the second records the outcome.
    """
    account = rate_limit.account_key(username)
    attempt_id, password_hash = _admit(
        session, actor, account=account, username=username, limits=limits
    )
    matches = _password_matches(password_hash, password)
    user = user_repo.get_user_by_username(session, username)
    # Re-read: a disable or a password reset while the hash was checked must still count.
    if user is None or not user.is_active or not matches or user.password_hash != password_hash:
        detail = {"user": username[:64]}
        # A known account's failures belong to its clinic: its admin sees them (issue 13).
        clinic_id = user.clinic_id if user is not None else None
        entry = AuditEntry(
            "login.failure", "user", None, outcome="failure", detail=detail, clinic_id=clinic_id
        )
        audit.record(session, actor, entry)
        session.commit()
        raise AuthenticationFailed("unknown user or wrong password")
    rate_limit.mark_succeeded(session, attempt_id)
    now = utc_now()
    session_id = secrets.token_urlsafe(32)
    login = UserSessionRecord(
        id_sha256=sha256_hex(session_id),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.absolute,
    )
    user_repo.add(session, login)
    user_actor = dataclasses.replace(
        actor, kind="user", id=user.id, name=user.username, role=user.role, clinic_id=user.clinic_id
    )
    audit.record(session, user_actor, AuditEntry("login.success", "user", str(user.id)))
    session.commit()
    return LoginSession(
        session_id, user.id, user.username, user.role, login.csrf_token, user.clinic_id,
        display_name=user.display_name or user.username,
        system_admin=user.is_system_admin, must_change_password=user.must_change_password,
    )  # fmt: skip


def _admit(
    session: Session, actor: Actor, *, account: str, username: str, limits: LoginLimits
) -> tuple[int, str | None]:
    """Counts the attempt, or refuses it (audited) while locked out. Returns the attempt's id
    and the stored hash to check against (None: unknown or disabled user)."""
    now = utc_now()
    wait = rate_limit.wait_before_attempt(
        session, account=account, client_ip=actor.client_ip, limits=limits, now=now
    )
    attempt_id = rate_limit.record_failed_attempt(
        session, account=account, client_ip=actor.client_ip, now=now
    )
    if wait is not None:
        detail = {"user": username[:64], "retry_after_seconds": math.ceil(wait.total_seconds())}
        entry = AuditEntry(
            "excess_rate_limit_exceeded", "user", None, outcome="failure", detail=detail
        )
        audit.record(session, actor, entry)
        session.commit()
        raise rate_limit.LoginRefused(wait)
    user = user_repo.get_user_by_username(session, username)
    password_hash = user.password_hash if user is not None and user.is_active else None
    session.commit()
    return attempt_id, password_hash


def _password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash or _DUMMY_HASH, password))
    except (VerificationError, InvalidHashError):
        return False


# resume_session moves a session's idle clock at most this often: accurate enough for an
# idle limit of minutes, without a write per request.
IDLE_CLOCK_STEP = timedelta(seconds=30)


def resume_session(session: Session, *, session_id: str, policy: SessionPolicy) -> LoginSession:
    """The session behind a cookie, if it is still alive; touches its idle clock.

    From services.session_cache when verified in the last few seconds on this instance and no
    idle-clock write is due, else checked in the database and remembered."""
    cached = session_cache.lookup(session_id)
    if cached is not None:
        return cached
    generation = session_cache.generation()  # before the read: see session_cache.remember
    try:
        login, usable_until = _resume(session, session_id=session_id, policy=policy)
    finally:
        _end_read(session)
    session_cache.remember(session_id, login, usable_until, read_since=generation)
    return login


def _resume(
    session: Session, *, session_id: str, policy: SessionPolicy
) -> tuple[LoginSession, datetime]:
    """The live session and until when a cached copy may stand for it (session_cache)."""
    # A plain read first: every page request passes here, and on SQLite a BEGIN IMMEDIATE
    # per request would queue all of them behind the one write lock. Only the rare write
    # (ending an idle session, touching the idle clock) opens a write transaction.
    key = sha256_hex(session_id)
    with read_only(session):
        login = user_repo.get_login_session(session, key)
        user = user_repo.get_user(session, login.user_id) if login is not None else None
    now = utc_now()
    if login is None or login.ended_at is not None or now >= login.expires_at:
        raise AuthenticationFailed("no such session")
    idle = now - login.last_seen_at > policy.idle
    resumed = None
    if user is not None and user.is_active:
        # Read before _touch commits, which expires every loaded record.
        resumed = LoginSession(
            session_id, user.id, user.username, user.role, login.csrf_token, user.clinic_id,
            display_name=user.display_name or user.username,
            system_admin=user.is_system_admin, must_change_password=user.must_change_password,
        )  # fmt: skip
    expires_at, last_seen_at = login.expires_at, login.last_seen_at
    if idle or now - last_seen_at > IDLE_CLOCK_STEP:
        _touch(session, login, now, end=idle)
        last_seen_at = now
    if idle:
        raise AuthenticationFailed("session idle for too long")
    if resumed is None:
        raise AuthenticationFailed("user disabled")
    # A cached copy must never outlive the session, nor stand in for a due idle-clock write.
    usable_until = min(expires_at, last_seen_at + min(policy.idle, IDLE_CLOCK_STEP))
    return resumed, usable_until


def _touch(session: Session, login: UserSessionRecord, now: datetime, *, end: bool) -> None:
    """Move the idle clock, or end the session, in a short write transaction of its own."""
    session.refresh(login)  # re-read under the write lock: a logout meanwhile stays a logout
    if login.ended_at is not None:
        raise AuthenticationFailed("no such session")
    if end:
        login.ended_at = now
    else:
        login.last_seen_at = now
    session.commit()


def _end_read(session: Session) -> None:
    """End the transaction of an authentication check, which runs before the handler.

    On SQLite a write transaction starts with BEGIN IMMEDIATE, i.e. takes the database's one
    write lock; left open, the lock would be held from the check until the handler's service
    commits, across the hops between dependency, event loop and handler thread, while every
    other request in every worker waits (and after busy_timeout fails: "database is locked").
    Nothing was written, so rolling back loses nothing.
    """
    session.rollback()


def log_out(session: Session, *, session_id: str, actor: Actor) -> None:
    login = user_repo.get_login_session(session, sha256_hex(session_id))
    if login is None or login.ended_at is not None:
        return
    login.ended_at = utc_now()
    audit.record(session, actor, AuditEntry("logout", "user", str(login.user_id)))
    session.commit()
    session_cache.forget_session(session_id)  # refused on this instance's next request


def create_token(
    session: Session,
    *,
    name: str,
    scopes: tuple[str, ...],
    expires_at: datetime | None,
    clinic_id: int | None = None,
    actor: Actor = SYSTEM,
) -> str:
    """Returns the token once; only its SHA-256 is kept."""
    problems = token_problems(name, scopes)
    if problems:
        raise InvalidInput(problems)
    if user_repo.username_exists(session, name):
        message = "A user has this name: a token must never pass for a person."
        raise InvalidInput((FieldProblem("name", message),))
    token = "tt_" + secrets.token_urlsafe(32)
    record = ApiTokenRecord(
        name=name,
        token_sha256=sha256_hex(token),
        scopes=sorted(set(scopes)),
        created_at=utc_now(),
        expires_at=expires_at,
        clinic_id=clinic_id or user_repo.default_clinic_id(session),
    )
    user_repo.add(session, record)
    audit.record(
        session,
        actor,
        AuditEntry(
            "token.create",
            "api_token",
            str(record.id),
            detail={"scopes": record.scopes},
            clinic_id=record.clinic_id,
        ),
    )
    session.commit()
    return token


def token_problems(name: str, scopes: tuple[str, ...]) -> tuple[FieldProblem, ...]:
    """A token's name follows the username rules (issue 13: a free-text name such as
    "рharmacist_b" passed for a person); its scopes are exactly those asked for, at least one
    (no silent "every scope")."""
    problems = []
    if not is_plain_name(name):
        problems.append(FieldProblem("name", f"A token name of {NAME_RULE}"))
    if set(scopes) - set(SCOPES) or not scopes:
        problems.append(
            FieldProblem("scope", f"Name at least one scope, among {', '.join(SCOPES)}.")
        )
    return tuple(problems)


def authenticate_token(session: Session, *, token: str) -> Actor:
    """The client behind a bearer token: from services.token_cache when verified in the last
    few seconds on this instance, else looked up (a plain read) and remembered."""
    cached = token_cache.lookup(token)
    if cached is not None:
        return cached
    if not session.in_transaction():
        # A plain read (on SQLite a deferred BEGIN): it never waits for a writer.
        session.connection(execution_options={READ_ONLY: True})
    try:
        record = user_repo.get_token(session, sha256_hex(token))
        now = utc_now()
        if record is None or record.revoked_at is not None:
            raise AuthenticationFailed("unknown or revoked token")
        if record.expires_at is not None and now >= record.expires_at:
            raise AuthenticationFailed("token expired")
        client = Actor(
            kind="token",
            id=record.id,
            name=record.name,
            scopes=tuple(record.scopes),
            clinic_id=record.clinic_id,
        )
        expires_at = record.expires_at  # read before the rollback expires the record
    finally:
        _end_read(session)
    token_cache.remember(token, client, expires_at)
    return client


def change_password(
    session: Session, *, actor: Actor, current: str, new: str, new_again: str
) -> None:
    """Self-service change: the current password, then a new one under the password policy.
    Ends every session of the user (this one too: they log in with the new password) and
    clears a forced change after an admin's reset."""
    user = user_repo.get_user(session, actor.id) if actor.kind == "user" and actor.id else None
    if user is None or not user.is_active:
        raise AuthenticationFailed("no such user")
    stored_hash = user.password_hash
    session.rollback()  # argon2 outside any transaction (see log_in)
    problems: list[FieldProblem] = []
    if not _password_matches(stored_hash, current):
        problems.append(FieldProblem("current_password", "This is not your current password."))
    if new != new_again:
        problems.append(FieldProblem("password_again", "The two new passwords differ."))
    elif new == current:
        problems.append(FieldProblem("password", "Choose a password you have not used here."))
    else:
        problems += password_problems(new, username=user.username)
    if problems:
        raise InvalidInput(tuple(problems))
    new_hash = hash_password(new)
    user = user_repo.get_user(session, user.id)
    if user is None or user.password_hash != stored_hash:
        raise Conflict("the password was changed meanwhile; log in again")
    user.password_hash = new_hash
    user.must_change_password = False
    now = utc_now()
    ended = 0
    for login in user_repo.open_sessions(session, user.id):
        login.ended_at = now
        ended += 1
    detail = {"sessions_ended": ended}
    audit.record(
        session, actor, AuditEntry("user.password_change", "user", str(user.id), detail=detail)
    )
    user_id = user.id
    session.commit()
    session_cache.forget_user(user_id)  # its sessions ended: refused on the next request
