"""Log in and log out."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.services import auth as auth_service
from app.services.errors import AuthenticationFailed
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
from app.web.templating import render

router = APIRouter()


@router.get("/login", name="auth:login_form")
def show_login(request: Request, login: OptionalLogin) -> Response:
    if login is not None:
        return redirect(request, str(request.url_for("patients:index")))
    return _login_page(request, error=None, username="")


@router.post("/login", name="auth:login")
def log_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
) -> Response:
    try:
        login = auth_service.log_in(
            session,
            username=username,
            password=password,
            policy=session_policy(settings),
            actor=request_actor(request, None),
        )
    except AuthenticationFailed:
        return _login_page(
            request, error="Unknown user or wrong password.", username=username, status=401
        )
    response = redirect(request, str(request.url_for("patients:index")))
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


def _login_page(
    request: Request, *, error: str | None, username: str, status: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "auth/login.html",
        {"error": error, "username": username, "login_csrf": token},
        status_code=status,
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
