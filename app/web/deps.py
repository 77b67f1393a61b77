"""Dependencies of the HTML surface: database session, login session, CSRF check."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from app.config import Settings
from app.domain.text import refused_character_problem
from app.refusals import AuditedRefusal
from app.services import auth as auth_service
from app.services import session_cache
from app.services.auth import LoginSession, SessionPolicy
from app.services.context import Actor
from app.services.errors import AuthenticationFailed

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_CSRF_COOKIE = "titrate_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
RESET_LINK_PREFIX = "/account/reset/"


class LoginRequired(HTTPException):
    """No live session: pages answer with a redirect to the login page."""

    def __init__(self) -> None:
        super().__init__(401, "Please log in.")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's database session, made and closed on the event loop without I/O.

    Making a Session touches no database (it connects on first use, in the `def` handler or
    dependency that uses it, in a worker thread). A sync generator here would cost two thread
    hops per page (enter and exit); this costs none. A session still in a transaction at the
    end (a handler failed half-way) is closed in a worker thread, as closing it rolls back.
    """
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()  # nothing to roll back: forgets its objects, no I/O


async def get_settings(request: Request) -> Settings:  # async: no thread hop
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session)]


async def posted_form(request: Request) -> FormData:
    """The posted form, read here, in an async dependency, so that the handler using it can be
    a plain `def`: FastAPI runs those in a worker thread, where their database work (which may
    wait for SQLite's write lock) never blocks the worker's event loop. Starlette keeps the
    parsed form on the request, so the CSRF check and this dependency read the body once."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def session_cookie_name(request: Request) -> str:
    # The __Host- prefix is only accepted by browsers on Secure cookies, i.e. over TLS.
    return "__Host-titrate_sid" if request.url.scheme == "https" else "titrate_sid"


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_absolute_hours),
    )


async def optional_login(request: Request) -> LoginSession | None:
    """The live login session behind the cookie, or None.

    Async: a session verified in the last few seconds (services.session_cache) costs no
    database work and no thread hop; only a check in the database goes to a worker thread,
    with its own Session and short transactions (it may write the idle clock). The settings
    are read from the app, not asked for as a dependency: every page resolves this one, and
    each dependency FastAPI solves costs every request."""
    session_id = request.cookies.get(session_cookie_name(request))
    if not session_id:
        return None
    login = session_cache.lookup(session_id)
    if login is None:
        try:
            settings = request.app.state.settings
            login = await run_in_threadpool(_resume, request, session_id, settings)
        except AuthenticationFailed:
            return None
    # Pages render the token into hidden fields and <body hx-headers> (see templating.render).
    request.state.csrf_token = login.csrf_token
    request.state.display_name = login.display_name
    return login


def _resume(request: Request, session_id: str, settings: Settings) -> LoginSession:
    with request.app.state.sessionmaker() as session:
        return auth_service.resume_session(
            session, session_id=session_id, policy=session_policy(settings)
        )


OptionalLogin = Annotated[LoginSession | None, Depends(optional_login)]


def request_actor(request: Request, login: LoginSession | None) -> Actor:
    return Actor(
        kind="user" if login else "anonymous",
        id=login.user_id if login else None,
        name=login.username if login else "anonymous",
        role=login.role if login else None,
        clinic_id=login.clinic_id if login else None,
        system_admin=bool(login and login.system_admin),
        request_id=request.scope.get("state", {}).get("request_id"),
        client_ip=request.client.host if request.client else None,
    )


class PasswordChangeRequired(HTTPException):
    """The password was reset by an admin: every page leads to the change-password page."""

    def __init__(self) -> None:
        super().__init__(403, "Choose a new password first.")


async def signed_in(request: Request, login: OptionalLogin) -> Actor:  # no I/O
    """Any live session, also one that must change its password first (the account pages)."""
    if login is None:
        raise LoginRequired()
    return request_actor(request, login)


SignedIn = Annotated[Actor, Depends(signed_in)]


async def current_clinician(request: Request, login: OptionalLogin) -> Actor:  # no I/O
    if login is None:
        raise LoginRequired()
    if login.must_change_password:
        raise PasswordChangeRequired()
    actor = request_actor(request, login)
    # Per-user rate limit (app/request_limits.py).
    request.app.state.user_limiter.check(actor)
    return actor


CurrentClinician = Annotated[Actor, Depends(current_clinician)]


async def guard_page(request: Request, login: OptionalLogin) -> None:
    """Every page route's guard (app/web/router.py): the CSRF check, then the refusal of
    unsafe characters. One dependency rather than two, as FastAPI's cost is per dependency."""
    await verify_csrf(request, login.csrf_token if login else None)
    await refuse_unsafe_characters(request)


async def verify_csrf(request: Request, session_token: str | None) -> None:
    """Fail closed: every state-changing request must prove it comes from our own page.
    `session_token`: the signed-in session's CSRF token, None when nobody is signed in."""
    if request.method not in UNSAFE_METHODS:
        return
    _require_same_origin(request)
    sent = request.headers.get(CSRF_HEADER) or str((await request.form()).get(CSRF_FIELD, ""))
    if request.url.path == "/login":
        # Before login there is no server session yet: double-submit cookie instead.
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    elif request.url.path.startswith(RESET_LINK_PREFIX):
        # A one-time reset link's address carries its 256-bit secret: a forged form from
        # another site cannot know it, so the secret is the synchronizer token here (the
        # Origin and Sec-Fetch-Site checks above still apply).
        return
    elif session_token is None:
        raise LoginRequired()
    else:
        expected = session_token
    # Bytes: compare_digest refuses str with non-ASCII characters, and `sent` is user input.
    if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise AuditedRefusal(
            403, "The form has expired or did not come from this site.", reason="csrf"
        )


async def refuse_unsafe_characters(request: Request) -> None:
    """No query or form value may carry NUL (PostgreSQL can neither store nor compare it) or a
    bidirectional control (it reorders what is printed after a name): app/domain/text.py.
    Refused here as a bad request, before anything is stored or shown."""
    values = [value for _, value in request.query_params.multi_items()]
    if request.method in UNSAFE_METHODS:
        form = await request.form()
        values += [value for _, value in form.multi_items() if isinstance(value, str)]
    for value in values:
        problem = refused_character_problem(value)
        if problem:
            raise HTTPException(400, problem)


def _require_same_origin(request: Request) -> None:
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise AuditedRefusal(403, "Cross-site requests are refused.", reason="origin")
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise AuditedRefusal(403, "Requests from another origin are refused.", reason="origin")
