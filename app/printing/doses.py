"""Doses as a patient reads them, in their language: "2,5 mg", "½ tablet of 10 mg".

Units and the drug name are never translated ("mg", "mcg", "mL" stay as they are); only the
words around them are. Oral doses are mg and intrathecal doses mcg, as the stored plan says:
nothing here converts one into the other.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.support import Translations

from app.printing.numbers import UNIT_SPACE, format_number, format_quantity

_FRACTIONS = {Decimal("0.25"): "¼", Decimal("0.5"): "½", Decimal("0.75"): "¾"}


def dose_text(dose: dict[str, str], language: str) -> str:
    """A stored dose ({"value": "7.50", "unit": "mg"}) as "7,5 mg"."""
    return format_quantity(Decimal(dose["value"]), dose["unit"], language)


def tablet_count(count: Decimal, language: str) -> str:
    """Tablet counts as written by hand: 1, ½, 1½, 2 (never "0.5" or "1/2")."""
    whole, part = divmod(count, 1)
    if part == 0:
        return format_number(whole, language)
    symbol = _FRACTIONS.get(part.normalize())
    if symbol is None:
        return format_number(count, language)
    return symbol if whole == 0 else f"{format_number(whole, language)}{symbol}"


def take_text(admin: dict[str, Any], language: str, t: Translations) -> str:
    """What to take or give for one administration of a stored plan.

    "1 tablet of 10 mg", "½ tablet of 10 mg", "5 mL of 1 mg/mL solution = 5 mg"; the
    pump's continuous dose and a screening bolus say how they are given.
    """
    prep = admin.get("preparation")
    if prep is None:
        return t.gettext("by the pump, spread over 24 hours")
    if prep["form"] == "tablet":
        count = Decimal(prep["tablets"])
        return t.ngettext(
            "%(count)s tablet of %(strength)s",
            "%(count)s tablets of %(strength)s",
            2 if count > 1 else 1,
        ) % {
            "count": tablet_count(count, language),
            "strength": dose_text(prep["tablet_strength"], language),
        }
    volume = format_quantity(Decimal(prep["volume_ml"]), "mL", language)
    concentration = concentration_text(prep["concentration"], language)
    if prep["form"] == "intrathecal_solution":
        return t.gettext("%(volume)s of %(concentration)s, by lumbar puncture") % {
            "volume": volume,
            "concentration": concentration,
        }
    return t.gettext("%(volume)s of %(concentration)s solution = %(dose)s") % {
        "volume": volume,
        "concentration": concentration,
        "dose": dose_text(admin["dose"], language),
    }


def concentration_text(concentration: dict[str, str], language: str) -> str:
    """{"value": "1", "unit": "mg"} (per mL) as "1 mg/mL"."""
    value = format_number(Decimal(concentration["value"]), language)
    return f"{value}{UNIT_SPACE}{concentration['unit']}/mL"


def per_day_text(dose: dict[str, str], language: str, t: Translations) -> str:
    return t.gettext("%(dose)s a day") % {"dose": dose_text(dose, language)}
