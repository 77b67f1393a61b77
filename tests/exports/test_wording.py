"""How exports write numbers, tablets and dates (ISMP: no trailing zero, a leading zero)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from app.domain.titration.units import plain_number
from app.exports.schedule import (
    date_range_text,
    json_number,
    read_plan,
    tablets_text,
    times_text,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [("5.0", "5"), ("0.50", "0.5"), ("26.0", "26"), ("100", "100"), ("1E+2", "100"),
     ("0.05", "0.05"), ("1.25", "1.25")],
)  # fmt: skip
def test_numbers_have_no_trailing_zero_and_a_leading_zero(value: str, text: str) -> None:
    assert plain_number(Decimal(value)) == text


@pytest.mark.parametrize(
    ("value", "json_text"), [("26.0", "26"), ("1.3", "1.3"), ("0.1", "0.1"), ("2.5", "2.5")]
)
def test_json_numbers_are_the_exact_decimal(value: str, json_text: str) -> None:
    assert json.dumps(json_number(Decimal(value))) == json_text


def test_a_decimal_a_float_cannot_carry_is_refused_not_rounded() -> None:
    with pytest.raises(ValueError, match="exactly"):
        json_number(Decimal("0.12345678901234567890"))


@pytest.mark.parametrize(
    ("count", "text"),
    [("1", "1 tablet"), ("0.5", "½ tablet"), ("1.5", "1½ tablets"), ("2", "2 tablets"),
     ("0.25", "¼ tablet"), ("3", "3 tablets")],
)  # fmt: skip
def test_tablet_counts_are_written_as_a_clinician_writes_them(count: str, text: str) -> None:
    assert tablets_text(Decimal(count)) == text


def test_dose_times_and_date_ranges_read_as_sentences() -> None:
    assert times_text(("morning", "evening")) == "in the morning and in the evening"
    assert times_text(("night",)) == "at night"
    assert date_range_text(date(2026, 11, 22), date(2026, 11, 28)) == "22 Nov – 28 Nov 2026"
    assert date_range_text(date(2026, 12, 28), date(2027, 1, 3)) == "28 Dec 2026 – 3 Jan 2027"
    assert date_range_text(date(2026, 12, 1), date(2026, 12, 1)) == "1 Dec 2026"


def test_a_stored_plan_with_a_dose_in_the_other_unit_is_refused() -> None:
    plan = {
        "route": "intrathecal", "unit": "mcg", "plan_type": "itb_titration",
        "protocol": {"id": "itb", "version": "1"}, "engine_version": "1", "milestones": [],
        "dispense": [],
        "steps": [{"index": 1, "start_date": "2026-12-01", "end_date": "2026-12-01",
                   "daily_dose": {"value": "150", "unit": "mg"},
                   "administrations": [{"time_of_day": "continuous",
                                        "dose": {"value": "150", "unit": "mg"}}]}],
    }  # fmt: skip
    with pytest.raises(ValueError, match="dose in mg"):
        read_plan(json.dumps(plan))
    with pytest.raises(ValueError, match="must be in mcg"):
        read_plan(json.dumps({**plan, "unit": "mg"}))
