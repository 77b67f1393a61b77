"""The signed-in user's own account: change the password (issue 13, OWASP ASVS 5.0 V6).

Reachable with a session that must change its password first (after an admin's reset);
every other page redirects here until it is done.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.services import auth as auth_service
from app.services.errors import InvalidInput
from app.web.admin_forms import AdminForm
from app.web.deps import PostedForm, SessionDep, SignedIn
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
