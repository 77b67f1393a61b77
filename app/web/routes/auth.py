"""Log in and log out."""

from __future__ import annotations

import dataclasses
import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.services import auth as auth_service
from app.services.errors import AuthenticationFailed
from app.services.rate_limit import LoginRefused
from app.web.deps import (
    LOGIN_CSRF_COOKIE,
    CurrentClinician,
    OptionalLogin,
    SessionDep,
    SettingsDep,
    request_actor,
    session_cookie_name,
    session_policy,
)
from app.web.htmx import redirect
from app.web.login_guard import client_ip, login_limits
from app.web.templating import render

router = APIRouter()


@router.get("/login", name="auth:login_form")
def show_login(request: Request, login: OptionalLogin, session: SessionDep) -> Response:
    if login is not None:
        return redirect(request, _landing_url(request, login.role))
    # A new installation has nobody to log in: the page says how the operator makes the first
    # account (only while there is none, so it tells nobody anything afterwards).
    first_run = not auth_service.any_user(session)
    return _login_page(request, error=None, username="", first_run=first_run)


@router.post("/login", name="auth:login")
def log_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
) -> Response:
    actor = dataclasses.replace(
        request_actor(request, None),
        client_ip=client_ip(request, settings.trusted_proxy_networks),
    )
    try:
        login = auth_service.log_in(
            session,
            username=username,
            password=password,
            policy=session_policy(settings),
            limits=login_limits(settings),
            actor=actor,
        )
    except LoginRefused as exc:
        return _refused_page(request, exc, username=username)
    except AuthenticationFailed:
        return _login_page(
            request, error="Unknown user or wrong password.", username=username, status=401
        )
    landing = _landing_url(request, login.role)
    if login.must_change_password:
        landing = str(request.url_for("account:password_form"))
    response = redirect(request, landing)
    response.set_cookie(
        session_cookie_name(request),
        login.session_id,
        max_age=settings.session_absolute_hours * 3600,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", name="auth:logout")
def log_out(request: Request, session: SessionDep, clinician: CurrentClinician) -> Response:
    cookie = session_cookie_name(request)
    auth_service.log_out(session, session_id=request.cookies.get(cookie, ""), actor=clinician)
    response = redirect(request, str(request.url_for("auth:login_form")))
    response.delete_cookie(cookie, path="/")
    return response


def _landing_url(request: Request, role: str) -> str:
    # Administrators see no patient data; their work starts on the user list.
    return str(request.url_for("admin:users" if role == "admin" else "loop:worklist"))


def _refused_page(request: Request, refusal: LoginRefused, *, username: str) -> Response:
    # Neutral on purpose: unknown usernames are limited the same way, so this says nothing
    # about whether the account exists.
    minutes = max(1, math.ceil(refusal.retry_after_seconds / 60))
    error = (
        "Too many failed logins for this username or from this network. Logging in is paused "
        f"for about {minutes} minute{'s' if minutes > 1 else ''}; until then no password is "
        "accepted, not even the correct one."
    )
    headers = {"Retry-After": str(refusal.retry_after_seconds)}
    return _login_page(request, error=error, username=username, status=429, headers=headers)


def _login_page(
    request: Request,
    *,
    error: str | None,
    username: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    first_run: bool = False,
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "auth/login.html",
        {"error": error, "username": username, "login_csrf": token, "first_run": first_run},
        status_code=status,
        headers=headers,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/login",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response
