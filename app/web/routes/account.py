"""The user's own account (issue 13, OWASP ASVS 5.0 V6): change the password (signed in;
reachable with a session that must change its password first, which every other page
redirects here), and choose a new one through an admin's one-time reset link (public: the
link's secret is the credential, services/password_reset.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.services import auth as auth_service
from app.services import password_reset
from app.services.errors import InvalidInput, NotFound
from app.web.admin_forms import AdminForm
from app.web.deps import OptionalLogin, PostedForm, SessionDep, SignedIn, request_actor
from app.web.htmx import redirect
from app.web.templating import render

router = APIRouter(prefix="/account")


@router.get("/password", name="account:password_form")
def password_form(request: Request, clinician: SignedIn) -> Response:
    return _page(request, clinician, AdminForm({}))


@router.post("/password", name="account:change_password")
def change_password(
    request: Request, session: SessionDep, clinician: SignedIn, raw: PostedForm
) -> Response:
    values = {name: str(raw.get(name, "")) for name in ("current_password", "password")}
    try:
        auth_service.change_password(
            session,
            actor=clinician,
            current=values["current_password"],
            new=values["password"],
            new_again=str(raw.get("password_again", "")),
        )
    except InvalidInput as exc:
        form = AdminForm({})
        form.add_problems(exc.problems)
        return _page(request, clinician, form, status=422)
    # Every session ended with the change, this one too: log in with the new password.
    return redirect(request, str(request.url_for("auth:login_form")))


def _page(request: Request, clinician: object, form: AdminForm, *, status: int = 200) -> Response:
    context = {"form": form, "clinician": clinician}
    return render(request, "account/password.html", context, status_code=status)


# The link's address is its secret: never logged (middleware) and never sent on as a referrer
# (Referrer-Policy: no-referrer on every page). Longer than any secret we make: not ours.
RESET_PATH = "/reset/{secret}"
_MAX_SECRET_LENGTH = 64


@router.get(RESET_PATH, name="account:reset_form")
def reset_form(request: Request, secret: str, session: SessionDep) -> Response:
    try:
        username = _username_for(session, secret)
    except NotFound:
        return _reset_page(request, secret, None, AdminForm({}), status=404)
    return _reset_page(request, secret, username, AdminForm({}))


@router.post(RESET_PATH, name="account:reset_password")
def reset_password(
    request: Request, secret: str, session: SessionDep, login: OptionalLogin, raw: PostedForm
) -> Response:
    try:
        username = _username_for(session, secret)
        password_reset.set_password_by_link(
            session,
            secret=secret,
            new=str(raw.get("password", "")),
            new_again=str(raw.get("password_again", "")),
            actor=request_actor(request, login),
        )
    except NotFound:
        return _reset_page(request, secret, None, AdminForm({}), status=404)
    except InvalidInput as exc:
        form = AdminForm({})
        form.add_problems(exc.problems)
        return _reset_page(request, secret, username, form, status=422)
    return redirect(request, str(request.url_for("auth:login_form")))


def _username_for(session: SessionDep, secret: str) -> str:
    if len(secret) > _MAX_SECRET_LENGTH:
        raise NotFound("reset link not valid")
    return password_reset.username_for_link(session, secret=secret)


def _reset_page(
    request: Request, secret: str, username: str | None, form: AdminForm, *, status: int = 200
) -> Response:
    context = {"form": form, "username": username, "secret": secret}
    return render(request, "account/reset.html", context, status_code=status)
