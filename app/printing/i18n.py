"""Message catalogues: English, German and Vietnamese, loaded from the .po files at start-up.

The catalogues are text (``locales/<lang>/LC_MESSAGES/messages.po``) and are compiled in memory
the first time a language is asked for, so no binary ``.mo`` file is kept in the repository.
``make messages`` extracts the messages from the templates and Python into ``messages.pot``
and merges them into each ``.po``. A message with no translation falls back to English.
"""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
SUPPORTED_LANGUAGES = ("en", "de", "vi")
DEFAULT_LANGUAGE = "en"
# Each language named in itself, for the switcher on a printed page.
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "vi": "Tiếng Việt"}


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; it is translated where it is shown."""
    return message


class UnknownLanguage(ValueError):
    """A language code we have no catalogue for."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def choose_language(requested: str | None, *, preferred: str | None) -> str:
    """The language asked for, else the patient's preferred one, else English.

    Raises:
        UnknownLanguage: when a language is asked for that has no catalogue. A patient's own
            stored preference outside the list falls back to English instead, since the
            document is still needed.
    """
    if requested is not None and requested != "":
        code = requested.strip().lower()
        if code not in SUPPORTED_LANGUAGES:
            raise UnknownLanguage(requested)
        return code
    if preferred in SUPPORTED_LANGUAGES:
        return str(preferred)
    return DEFAULT_LANGUAGE


def catalog_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: str) -> Catalog:
    with catalog_path(language).open("rb") as file:
        return read_po(file, locale=language, domain=DOMAIN)


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES))
def translations(language: str) -> Translations:
    """Compiled translations for one language; fuzzy entries are not used."""
    if language not in SUPPORTED_LANGUAGES:
        raise UnknownLanguage(language)
    compiled = BytesIO()
    write_mo(compiled, read_catalog(language))
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
