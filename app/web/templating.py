"""Jinja environment for pages: autoescaping on, formatting in filters, never in templates."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.datastructures import URL
from starlette.responses import Response

from app.printing.i18n import DEFAULT_LANGUAGE, translations
from app.printing.numbers import format_decimal as format_decimal  # re-exported for pages
from app.services.permissions import can
from app.services.plans import MAX_NOTE_LENGTH, MAX_REASON_LENGTH
from app.web import route_paths
from app.web.deps import CSRF_FIELD

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


def format_date(value: date | datetime | None, zone: tzinfo | None = None) -> str:
    """ISO dates; a moment in time as the clinic's wall-clock time with its zone's abbreviation
    ("2026-11-22 10:05 CET"), so pages and prints show the same time."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = value.astimezone(zone) if zone is not None else value
        return f"{local:%Y-%m-%d %H:%M} {local.tzname() or 'UTC'}"
    return value.isoformat()


@pass_context
def _date_filter(context: Context, value: date | datetime | None) -> str:
    return format_date(value, context.get("clinic_zone"))


@pass_context
def _person(context: Context, username: str) -> str:
    """A user as pages name them: the `people` map the handler looked up, else the username."""
    people: dict[str, str] = context.get("people") or {}
    return people.get(username, username)


@pass_context
def _url_for(context: Context, name: str, /, **path_params: Any) -> URL:
    request: Request = context["request"]
    return route_paths.url_for(request, name, **path_params)


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
# Templates change only with a new release, and the server restarts for one: no stat() of
# each template file on every render to see whether it changed.
templates.env.auto_reload = False
# Starlette's url_for, with each route's path remembered (web/route_paths.py).
templates.env.globals["url_for"] = _url_for
templates.env.add_extension("jinja2.ext.i18n")
# Clinician pages are English but go through the same catalogues as the patient documents, so
# _() and {% trans %} work in every template.
templates.env.install_gettext_translations(  # type: ignore[attr-defined]
    translations(DEFAULT_LANGUAGE), newstyle=True
)
templates.env.filters["decimal"] = format_decimal
templates.env.filters["date"] = _date_filter
# Pages offer only what the viewer may do; the services refuse the rest regardless.
templates.env.globals["can"] = can
templates.env.globals["person"] = _person
# The textareas' maxlength: the service's own limits, so the page never offers more.
templates.env.globals["max_reason_length"] = MAX_REASON_LENGTH
templates.env.globals["max_note_length"] = MAX_NOTE_LENGTH


def clinic_zone(request: Request) -> tzinfo:
    """The clinic's time zone (`TITRATE_CLINIC_TIMEZONE`): every time a person reads is in it."""
    return ZoneInfo(request.app.state.settings.clinic_timezone)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return templates.TemplateResponse(
        request,
        template,
        {
            "csrf_field": CSRF_FIELD,
            "csrf_token": getattr(request.state, "csrf_token", None),
            "clinic_zone": clinic_zone(request),
            **(context or {}),
        },
        status_code=status_code,
        headers=headers,
    )
