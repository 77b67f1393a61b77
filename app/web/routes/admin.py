"""Administration pages: users, API tokens and clinics (the admin role only; the services
check it, so these handlers only parse, call and render)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.db.models import ROLES
from app.services import admin as admin_service
from app.services.auth import SCOPES
from app.services.context import Actor, utc_now
from app.services.errors import InvalidInput
from app.web.admin_forms import (
    AdminForm,
    empty_token_form,
    empty_user_form,
    parse_new_token,
    parse_new_user,
)
from app.web.deps import CurrentClinician, PostedForm, SessionDep
from app.web.htmx import is_partial, redirect
from app.web.templating import render

router = APIRouter(prefix="/admin")


@router.get("/users", name="admin:users")
def list_users(request: Request, session: SessionDep, clinician: CurrentClinician) -> Response:
    users = admin_service.list_users(session, actor=clinician)
    return render(request, "admin/users.html", {"users": users, **_common(clinician)})


@router.get("/users/new", name="admin:new_user")
def new_user(request: Request, session: SessionDep, clinician: CurrentClinician) -> Response:
    return _user_form_page(request, session, clinician, empty_user_form())


@router.post("/users", name="admin:create_user")
def create_user(
    request: Request, session: SessionDep, clinician: CurrentClinician, posted: PostedForm
) -> Response:
    form, new = parse_new_user(posted)
    try:
        admin_service.create_user(session, actor=clinician, new=new)
    except InvalidInput as exc:
        form.add_problems(exc.problems)
        return _user_form_page(request, session, clinician, form, status=422)
    return redirect(request, str(request.url_for("admin:users")))


@router.post("/users/{user_id}/disable", name="admin:disable_user")
def disable_user(
    request: Request, user_id: int, session: SessionDep, clinician: CurrentClinician
) -> Response:
    admin_service.set_user_active(session, actor=clinician, user_id=user_id, active=False)
    return redirect(request, str(request.url_for("admin:users")))


@router.post("/users/{user_id}/enable", name="admin:enable_user")
def enable_user(
    request: Request, user_id: int, session: SessionDep, clinician: CurrentClinician
) -> Response:
    admin_service.set_user_active(session, actor=clinician, user_id=user_id, active=True)
    return redirect(request, str(request.url_for("admin:users")))


@router.post("/users/{user_id}/role", name="admin:change_role")
def change_role(
    request: Request,
    user_id: int,
    session: SessionDep,
    clinician: CurrentClinician,
    role: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    try:
        admin_service.change_role(session, actor=clinician, user_id=user_id, role=role)
    except InvalidInput as exc:
        users = admin_service.list_users(session, actor=clinician)
        context = {"users": users, "error": exc.problems[0].message, **_common(clinician)}
        return render(request, "admin/users.html", context, status_code=422)
    return redirect(request, str(request.url_for("admin:users")))


@router.get("/users/{user_id}/password", name="admin:password_form")
def password_form(
    request: Request, user_id: int, session: SessionDep, clinician: CurrentClinician
) -> Response:
    user = admin_service.get_user(session, actor=clinician, user_id=user_id)
    context = {"user": user, **_common(clinician)}
    template = "admin/_password_form.html" if is_partial(request) else "admin/password.html"
    return render(request, template, context)


@router.post("/users/{user_id}/password", name="admin:reset_password")
def reset_password(
    request: Request, user_id: int, session: SessionDep, clinician: CurrentClinician
) -> Response:
    link = admin_service.reset_password(session, actor=clinician, user_id=user_id)
    # The only time the link is shown: the page is no-store like every page, and neither
    # the log line nor the audit row carries its secret.
    context = {
        "link": str(request.url_for("account:reset_form", secret=link.secret)),
        "username": link.username,
        "expires_at": link.expires_at,
        **_common(clinician),
    }
    template = "admin/_reset_link.html" if is_partial(request) else "admin/reset_link.html"
    return render(request, template, context, status_code=201)


@router.get("/tokens", name="admin:tokens")
def list_tokens(request: Request, session: SessionDep, clinician: CurrentClinician) -> Response:
    tokens = admin_service.list_tokens(session, actor=clinician)
    context = {"tokens": tokens, "now": utc_now(), **_common(clinician)}
    return render(request, "admin/tokens.html", context)


@router.get("/tokens/new", name="admin:new_token")
def new_token(request: Request, session: SessionDep, clinician: CurrentClinician) -> Response:
    return _token_form_page(request, session, clinician, empty_token_form())


@router.post("/tokens", name="admin:create_token")
def create_token(
    request: Request, session: SessionDep, clinician: CurrentClinician, posted: PostedForm
) -> Response:
    form, new = parse_new_token(posted)
    try:
        token = admin_service.create_token(session, actor=clinician, new=new)
    except InvalidInput as exc:
        form.add_problems(exc.problems)
        return _token_form_page(request, session, clinician, form, status=422)
    return _token_created_page(request, clinician, form, token)


@router.post("/tokens/{token_id}/revoke", name="admin:revoke_token")
def revoke_token(
    request: Request, token_id: int, session: SessionDep, clinician: CurrentClinician
) -> Response:
    admin_service.revoke_token(session, actor=clinician, token_id=token_id)
    return redirect(request, str(request.url_for("admin:tokens")))


@router.get("/clinics", name="admin:clinics")
def list_clinics(request: Request, session: SessionDep, clinician: CurrentClinician) -> Response:
    return _clinics_page(request, session, clinician, AdminForm({"name": ""}))


@router.post("/clinics", name="admin:create_clinic")
def create_clinic(
    request: Request, session: SessionDep, clinician: CurrentClinician, posted: PostedForm
) -> Response:
    form = AdminForm.from_form(posted, ("name",))
    try:
        admin_service.create_clinic(session, actor=clinician, name=form.values["name"])
    except InvalidInput as exc:
        form.add_problems(exc.problems)
        return _clinics_page(request, session, clinician, form, status=422)
    return redirect(request, str(request.url_for("admin:clinics")))


def _common(clinician: Actor) -> dict[str, Any]:
    return {"clinician": clinician, "roles": ROLES, "role_options": [(r, r) for r in ROLES]}


def _clinic_options(session: SessionDep, clinician: Actor) -> list[tuple[str, str]]:
    clinics = admin_service.clinic_choices(session, actor=clinician)
    return [(str(clinic.id), clinic.name) for clinic in clinics]


def _user_form_page(
    request: Request, session: SessionDep, clinician: Actor, form: AdminForm, *, status: int = 200
) -> Response:
    context = {"form": form, "clinic_options": _clinic_options(session, clinician)}
    template = "admin/_user_form.html" if is_partial(request) else "admin/user_form.html"
    return render(request, template, {**context, **_common(clinician)}, status_code=status)


def _token_form_page(
    request: Request, session: SessionDep, clinician: Actor, form: AdminForm, *, status: int = 200
) -> Response:
    context = {"form": form, "scopes": SCOPES, **_common(clinician)}
    context["clinic_options"] = _clinic_options(session, clinician)
    template = "admin/_token_form.html" if is_partial(request) else "admin/token_form.html"
    return render(request, template, context, status_code=status)


def _token_created_page(
    request: Request, clinician: Actor, form: AdminForm, token: str
) -> Response:
    # The only time the token is ever shown: the page is no-store like every page, and
    # neither the log line nor the audit row carries it.
    context = {"token": token, "name": form.values["name"], **_common(clinician)}
    template = "admin/_token_created.html" if is_partial(request) else "admin/token_created.html"
    return render(request, template, context, status_code=201)


def _clinics_page(
    request: Request, session: SessionDep, clinician: Actor, form: AdminForm, *, status: int = 200
) -> Response:
    clinics = admin_service.list_clinics(session, actor=clinician)
    context = {"form": form, "clinics": clinics, **_common(clinician)}
    return render(request, "admin/clinics.html", context, status_code=status)
