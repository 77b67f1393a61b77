"""One Jinja environment per language for printed documents (HTML pages and PDFs).

Each environment has its language's catalogue installed for ``_()`` and ``{% trans %}``, and
filters that format numbers and dates for that language. One environment per language (rather
than switching translations on a shared one) keeps concurrent requests in different languages
apart. Autoescaping is on; ``StrictUndefined`` turns a missing value into an error instead of a
blank where a dose should be.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.printing.i18n import LANGUAGE_NAMES, SUPPORTED_LANGUAGES, UnknownLanguage, translations
from app.printing.numbers import format_day, format_long_date, format_number, format_quantity

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES))
def document_environment(language: str) -> Environment:
    if language not in SUPPORTED_LANGUAGES:
        raise UnknownLanguage(language)
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["number"] = lambda value: format_number(Decimal(value), language)
    env.filters["quantity"] = lambda value, unit: format_quantity(Decimal(value), unit, language)
    env.filters["long_date"] = lambda value: format_long_date(value, language)
    env.filters["day"] = lambda value: format_day(value, language)
    env.globals["language"] = language
    env.globals["language_names"] = LANGUAGE_NAMES
    return env


def render_document(template: str, context: Mapping[str, Any], *, language: str) -> str:
    """Render a template under ``templates/print/`` in `language`; returns the HTML text."""
    return document_environment(language).get_template(template).render(**context)
