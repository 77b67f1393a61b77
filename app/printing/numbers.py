"""Numbers and dates for people to read: ISMP style in every language.

ISMP: no trailing zero ("5", never "5.0"), always a leading zero ("0.5", never ".5"). In a
German or Vietnamese document the decimal mark is a comma ("2,5", "0,5"); the rule is the same.
Thousands are never grouped: "1.000" reads as one in English and as a thousand in German, and
a dose must be unmistakable in both.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache

from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton
from babel.dates import format_time as babel_format_time
from babel.numbers import format_decimal as babel_format_decimal

from app.domain.titration.units import plain_number

# Between a number and its unit: a line never breaks inside "7,5 mg" (a "7,5" at the end of
# one line and "mg" at the start of the next is a misreading waiting to happen).
UNIT_SPACE = "\u00a0"
# "0" keeps the leading zero; quantization off keeps every significant digit the plan holds.
_PATTERN = "0.###"


def format_decimal(value: Decimal | None) -> str:
    """ISMP style with a full stop, for English pages: "5", "0.5", "12.5" ('' for None)."""
    return "" if value is None else plain_number(value)


def format_number(value: Decimal, locale: str) -> str:
    """ISMP style with the locale's decimal mark: en "2.5", de and vi "2,5"; never grouped."""
    # Keyed by the normalized number's text, on which alone the answer depends ("-0" and "0"
    # stay apart): a schedule repeats a few numbers (1, ½, 5, 10 …) many times.
    return _format_normalized(str(value.normalize()), locale)


@lru_cache(maxsize=4096)
def _format_normalized(text: str, locale: str) -> str:
    return str(
        babel_format_decimal(
            Decimal(text),
            format=_PATTERN,
            locale=locale,
            decimal_quantization=False,
            group_separator=False,
        )
    )


def format_quantity(value: Decimal, unit: str, locale: str) -> str:
    """A number with its unit, which is never translated: "2,5 mg", "75 mcg", "5 mL"."""
    return f"{format_number(value, locale)}{UNIT_SPACE}{unit}"


def format_long_date(value: date, locale: str) -> str:
    """A date nobody can misread: en "Nov 22, 2026", de "22.11.2026", vi "22 thg 11, 2026"."""
    return str(babel_format_date(value, "medium", locale=locale))


def format_day(value: date, locale: str) -> str:
    """Weekday and day for a schedule line: en "Sun, Nov 22", de "So., 22. Nov."."""
    return str(format_skeleton("MMMEd", value, locale=locale))


def format_timestamp(value: datetime, locale: str, *, zone: tzinfo) -> str:
    """Date and time in the clinic's zone, for "printed on": de "22.11.2026 10:05"."""
    local = value.astimezone(zone)
    time_text = babel_format_time(local, "short", locale=locale)
    return f"{format_long_date(local.date(), locale)} {time_text}"
