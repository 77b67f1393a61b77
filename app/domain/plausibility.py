"""Plausibility limits of patient data (data entry, not clinical thresholds).

One set of limits for every surface: the stored patient record (``app/domain/patients.py``)
and the patient a plan preview describes (``app/domain/titration/validation.py``, A.6.12).
A value outside them cannot be a real patient (a 4000 kg weight, a creatinine of 0.0001)
and is refused naming its field, never planned.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

MAX_AGE_YEARS = 130
WEIGHT_KG = (Decimal("0.3"), Decimal("350"))
HEIGHT_CM = (Decimal("20"), Decimal("250"))
CLEARANCE_ML_MIN = (Decimal("0"), Decimal("250"))
CREATININE_RANGE = {
    "mg/dL": (Decimal("0.05"), Decimal("30")),
    "umol/L": (Decimal("4"), Decimal("2700")),
}
# A.6.12: every date the planner reads (start, birth, injury, fill) lies in 1900–2200.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)


def within(value: Decimal, limits: tuple[Decimal, Decimal]) -> bool:
    low, high = limits
    return low <= value <= high


def date_in_range(day: date) -> bool:
    return EARLIEST_DATE <= day <= LATEST_DATE
