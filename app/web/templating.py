"""Jinja environment for pages: autoescaping on, formatting in filters, never in templates."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from app.printing.i18n import DEFAULT_LANGUAGE, translations
from app.printing.numbers import format_decimal as format_decimal  # re-exported for pages
from app.services.permissions import can
from app.services.plans import MAX_NOTE_LENGTH, MAX_REASON_LENGTH
from app.web.deps import CSRF_FIELD

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.add_extension("jinja2.ext.i18n")
# Clinician pages are English but go through the same catalogues as the patient documents, so
# _() and {% trans %} work in every template.
templates.env.install_gettext_translations(  # type: ignore[attr-defined]
    translations(DEFAULT_LANGUAGE), newstyle=True
)
templates.env.filters["decimal"] = format_decimal
templates.env.filters["date"] = format_date
# Pages offer only what the viewer may do; the services refuse the rest regardless.
templates.env.globals["can"] = can
# The textareas' maxlength: the service's own limits, so the page never offers more.
templates.env.globals["max_reason_length"] = MAX_REASON_LENGTH
templates.env.globals["max_note_length"] = MAX_NOTE_LENGTH


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
            **(context or {}),
        },
        status_code=status_code,
        headers=headers,
    )
