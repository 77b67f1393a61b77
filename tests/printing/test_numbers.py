"""Numbers, doses and dates for patient documents: ISMP in every language, units untouched."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.printing.doses import dose_text, tablet_count, take_text
from app.printing.i18n import translations
from app.printing.numbers import format_day, format_long_date, format_number, format_quantity

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "en", "de", "vi"),
    [
        ("5.0", "5", "5", "5"),
        ("5.00", "5", "5", "5"),
        ("0.5", "0.5", "0,5", "0,5"),
        ("2.50", "2.5", "2,5", "2,5"),
        ("0.125", "0.125", "0,125", "0,125"),
        ("100", "100", "100", "100"),
        ("1000", "1000", "1000", "1000"),  # never grouped: "1.000" means one in English
        ("26.0", "26", "26", "26"),
    ],
)
def test_numbers_keep_the_leading_zero_and_drop_trailing_zeros_in_every_language(
    value: str, en: str, de: str, vi: str
) -> None:
    assert [format_number(Decimal(value), lang) for lang in ("en", "de", "vi")] == [en, de, vi]


def test_a_quantity_keeps_its_unit_untranslated_and_never_breaks_from_its_number() -> None:
    assert format_quantity(Decimal("7.50"), "mg", "de") == f"7,5{NBSP}mg"
    assert format_quantity(Decimal("75"), "mcg", "vi") == f"75{NBSP}mcg"
    assert dose_text({"value": "0.50", "unit": "mL"}, "en") == f"0.5{NBSP}mL"


@pytest.mark.parametrize(
    ("count", "text"),
    [("1", "1"), ("0.5", "½"), ("1.5", "1½"), ("0.25", "¼"), ("2.75", "2¾"), ("3", "3")],
)
def test_tablet_counts_are_written_with_fractions(count: str, text: str) -> None:
    assert tablet_count(Decimal(count), "de") == text


def _tablet(count: str, strength: str) -> dict[str, object]:
    return {
        "time_of_day": "morning",
        "dose": {"value": str(Decimal(count) * Decimal(strength)), "unit": "mg"},
        "preparation": {"form": "tablet", "tablets": count,
                        "tablet_strength": {"value": strength, "unit": "mg"},
                        "concentration": None, "volume_ml": None},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("language", "admin", "expected"),
    [
        ("en", _tablet("1", "10"), "1 tablet of 10 mg"),
        ("en", _tablet("0.5", "10"), "½ tablet of 10 mg"),
        ("en", _tablet("1.5", "10"), "1½ tablets of 10 mg"),
        ("de", _tablet("0.5", "10"), "½ Tablette zu 10 mg"),
        ("de", _tablet("3", "5"), "3 Tabletten zu 5 mg"),
        ("vi", _tablet("2", "20"), "2 viên 20 mg"),
    ],
)
def test_what_to_take_names_the_tablets_in_the_patients_language(
    language: str, admin: dict[str, object], expected: str
) -> None:
    assert take_text(admin, language, translations(language)).replace(NBSP, " ") == expected


def test_a_solution_dose_gives_the_volume_the_concentration_and_the_dose() -> None:
    admin = {
        "time_of_day": "morning",
        "dose": {"value": "5.0", "unit": "mg"},
        "preparation": {"form": "oral_solution", "tablets": None, "tablet_strength": None,
                        "concentration": {"value": "1", "unit": "mg"}, "volume_ml": "5.0"},
    }  # fmt: skip
    texts = {lang: take_text(admin, lang, translations(lang)).replace(NBSP, " ")
             for lang in ("en", "de", "vi")}  # fmt: skip
    assert texts == {
        "en": "5 mL of 1 mg/mL solution = 5 mg",
        "de": "5 mL Lösung mit 1 mg/mL = 5 mg",
        "vi": "5 mL dung dịch 1 mg/mL = 5 mg",
    }


def test_dates_follow_the_language() -> None:
    day = date(2026, 11, 22)
    assert [format_long_date(day, lang) for lang in ("en", "de", "vi")] == [
        "Nov 22, 2026",
        "22.11.2026",
        "22 thg 11, 2026",
    ]
    assert format_day(day, "de") == "So., 22. Nov."
