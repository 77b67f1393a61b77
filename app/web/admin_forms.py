"""Administration forms: raw strings in, typed values (or field messages) out.

What was typed is kept verbatim so a re-rendered form loses nothing, except passwords, which
are never sent back to the browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import FormData

from app.domain.patients import FieldProblem
from app.services.admin import NewToken, NewUser

# bandit B105: A number of days, not a password.
DEFAULT_TOKEN_DAYS = "90"  # nosec B105


@dataclass
class AdminForm:
    values: dict[str, str]
    scopes: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: FormData, names: tuple[str, ...]) -> AdminForm:
        values = {name: str(form.get(name, "")).strip() for name in names}
        return cls(values, [str(scope) for scope in form.getlist("scope")])

    def add_problems(self, problems: tuple[FieldProblem, ...]) -> None:
        for problem in problems:
            self.errors.setdefault(_FORM_FIELD.get(problem.field, problem.field), problem.message)

    def optional_int(self, name: str) -> int | None:
        """An id or a count from a menu or a number box; None when left empty."""
        raw = self.values.get(name, "")
        if not raw:
            return None
        if not raw.isdigit() or len(raw) > 9:
            self.errors[name] = "Enter a whole number."
            return None
        return int(raw)


USER_FIELDS = ("username", "display_name", "professional_title", "role", "clinic_id")
TOKEN_FIELDS = ("name", "clinic_id", "expires_in_days")


def empty_user_form() -> AdminForm:
    return AdminForm(dict.fromkeys(USER_FIELDS, ""))


def empty_token_form() -> AdminForm:
    return AdminForm({"name": "", "clinic_id": "", "expires_in_days": DEFAULT_TOKEN_DAYS})


def parse_new_user(raw: FormData) -> tuple[AdminForm, NewUser]:
    """The typed values; what is missing or wrong is for the service to say (one list of
    messages), except a value that does not even parse, which arrives as None."""
    form = AdminForm.from_form(raw, USER_FIELDS)
    # Passwords are taken as typed (leading or trailing spaces are part of them).
    password = str(raw.get("password", ""))
    new = NewUser(
        form.values["username"],
        password,
        form.values["role"],
        form.optional_int("clinic_id"),
        form.values["display_name"] or None,
        form.values["professional_title"] or None,
    )
    return form, new


def parse_new_token(raw: FormData) -> tuple[AdminForm, NewToken]:
    form = AdminForm.from_form(raw, TOKEN_FIELDS)
    clinic_id = form.optional_int("clinic_id")
    days = form.optional_int("expires_in_days")
    return form, NewToken(form.values["name"], tuple(form.scopes), days, clinic_id)


# Service problems name values; the form shows them next to the input that holds them.
_FORM_FIELD = {"scope": "scopes"}
