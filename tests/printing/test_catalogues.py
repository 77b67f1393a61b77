"""The message catalogues: every patient-facing message is translated, units left alone.

Patient-facing messages are those in the patient documents' templates and in the Python that
words them; the clinician summary stays English and is not checked here.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_file

from app.printing.environment import document_environment
from app.printing.i18n import UnknownLanguage, choose_language, read_catalog, translations
from app.web.templating import templates

ROOT = Path(__file__).resolve().parents[2]
PATIENT_TEMPLATES = sorted(
    p for p in (ROOT / "templates" / "print").glob("*.html") if "summary" not in p.name
)
PATIENT_PYTHON = [ROOT / "app" / "printing" / f"{name}.py"
                  for name in ("doses", "schedule", "intrathecal")]  # fmt: skip
PATIENT_PYTHON.append(ROOT / "app" / "exports" / "ical.py")  # the patient's calendar
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}
# Words that must come through a translation exactly as written.
UNTRANSLATABLE = re.compile(r"\b(mg|mcg|mL|baclofen)\b|%\(\w+\)s|[▲▼½]", re.IGNORECASE)


def _patient_msgids() -> set[str]:
    ids: set[str] = set()
    for path in PATIENT_TEMPLATES:
        found = extract_from_file("jinja2", str(path), options=JINJA_OPTIONS)
        ids |= {m[1] if isinstance(m[1], str) else m[1][0] for m in found}
    for path in PATIENT_PYTHON:
        found = extract_from_file("python", str(path), keywords={"gettext": None,
                                  "ngettext": (1, 2), "N_": None})  # fmt: skip
        ids |= {m[1] if isinstance(m[1], str) else m[1][0] for m in found}
    return ids


PATIENT_MSGIDS = sorted(_patient_msgids())


@cache
def _catalog(language: str) -> Catalog:
    return read_catalog(language)


def _message(language: str, msgid: str) -> Message | None:
    return _catalog(language).get(msgid)


def test_the_patient_documents_have_messages_to_translate() -> None:
    assert len(PATIENT_MSGIDS) > 60
    assert "Do not stop suddenly" in PATIENT_MSGIDS
    assert "%(count)s tablet of %(strength)s" in PATIENT_MSGIDS


@pytest.mark.parametrize("language", ["de", "vi"])
def test_every_patient_facing_message_is_translated(language: str) -> None:
    missing = []
    for msgid in PATIENT_MSGIDS:
        message = _message(language, msgid)
        strings = () if message is None else message.string
        strings = (strings,) if isinstance(strings, str) else strings
        if not strings or not all(strings) or (message is not None and message.fuzzy):
            missing.append(msgid)
    assert missing == [], f"run `make messages` and translate into {language}: {missing}"


@pytest.mark.parametrize("language", ["de", "vi"])
def test_units_drug_names_and_placeholders_come_through_every_translation(language: str) -> None:
    for msgid in PATIENT_MSGIDS:
        message = _message(language, msgid)
        assert message is not None
        translated = message.string if isinstance(message.string, str) else message.string[-1]
        expected = sorted(m.group(0).lower() for m in UNTRANSLATABLE.finditer(msgid))
        got = sorted(m.group(0).lower() for m in UNTRANSLATABLE.finditer(translated))
        assert got == expected, (msgid, translated)


def test_a_german_and_a_vietnamese_document_speak_their_language() -> None:
    assert translations("de").gettext("Do not stop suddenly") == "Nicht plötzlich absetzen"
    assert translations("vi").gettext("Do not stop suddenly") == "Không ngừng thuốc đột ngột"
    german = document_environment("de").from_string('{{ _("Total for the day") }}').render()
    assert german == "Gesamt pro Tag"


def test_clinician_pages_go_through_the_english_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    # English msgstrs are empty (the msgid is the text), so prove the route by giving one.
    english = translations("en")
    monkeypatch.setitem(english._catalog, "Plan version", "Plan version (from the catalogue)")
    page = templates.env.from_string('{{ _("Plan version") }}')
    assert page.render() == "Plan version (from the catalogue)"


def test_the_language_is_the_one_asked_for_else_the_patients_else_english() -> None:
    assert choose_language("de", preferred="vi") == "de"
    assert choose_language(None, preferred="vi") == "vi"
    assert choose_language("", preferred="xx") == "en"
    with pytest.raises(UnknownLanguage):
        choose_language("fr", preferred="en")
