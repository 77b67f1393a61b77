"""Exact age at the plan's start date, in completed months (months matter under 2 y, R-IN-1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

MONTHS_PER_YEAR = 12


@dataclass(frozen=True, slots=True, order=True)
class Age:
    months: int

    @property
    def years(self) -> int:
        """Completed years, as used for age bands and Cockcroft–Gault."""
        return self.months // MONTHS_PER_YEAR

    def is_under(self, years: int) -> bool:
        return self.months < years * MONTHS_PER_YEAR


def age_on(birth_date: date, day: date) -> Age:
    """Completed months between ``birth_date`` and ``day`` (a birthday counts on its date)."""
    months = (day.year - birth_date.year) * MONTHS_PER_YEAR + day.month - birth_date.month
    if day.day < birth_date.day:
        months -= 1
    return Age(months)


def age_from_years(years: Decimal) -> Age:
    """Age given as (possibly fractional) years: 1.5 → 18 completed months."""
    return Age(int((years * MONTHS_PER_YEAR).to_integral_value(rounding=ROUND_FLOOR)))
