"""Jinja environment for pages: autoescaping on, formatting in filters, never in templates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from app.web.deps import CSRF_FIELD

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


def format_decimal(value: Decimal | None) -> str:
    """ISMP style: no trailing zeros ("5", not "5.0"), a leading zero ("0.5", not ".5")."""
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.add_extension("jinja2.ext.i18n")
# Every template may use _() and {% trans %}; message catalogues replace these identity
# translations per request.
templates.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
templates.env.filters["decimal"] = format_decimal
templates.env.filters["date"] = format_date


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
