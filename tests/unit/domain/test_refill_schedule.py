"""Pump refill over the plan's schedule: the dose of each day from the fill date is spent,
not the first day's (issue 15: a rising titration empties the pump sooner)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.titration import InvalidInputError, WrongUnitError, calculate_refill
from app.domain.titration.errors import (
    ConcentrationOutOfRangeError,
    RefillIntervalMissingError,
    ReservoirOutOfRangeError,
)
from app.domain.titration.refill import DoseSpan, calculate_refill_over_schedule
from tests.unit.domain.builders import PROTOCOLS, mcg, mg

FILL = date(2026, 12, 1)


def span(start: int, end: int, dose: int) -> DoseSpan:
    return DoseSpan(FILL + timedelta(days=start), FILL + timedelta(days=end), mcg(dose))


def over(schedule: tuple[DoseSpan, ...], **overrides: object):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {
        "reservoir_ml": Decimal(20), "alarm_volume_ml": Decimal(2),
        "concentration_mcg_per_ml": Decimal(500), "schedule": schedule, "fill_date": FILL,
        "max_refill_interval_days": 180, "protocols": PROTOCOLS,
    }  # fmt: skip
    arguments.update(overrides)
    return calculate_refill_over_schedule(**arguments)  # type: ignore[arg-type]


def test_a_rising_titration_empties_the_pump_sooner_than_its_first_day_says() -> None:
    # 9000 mcg usable. 150 mcg/day for 10 days (1500), then 300 mcg/day held: 7500 / 300 = 25.
    result = over((span(0, 9, 150), span(10, 20, 300)))
    assert result.days_to_alarm == Decimal(35)
    first_day_only = over((span(0, 9, 150),))
    assert first_day_only.days_to_alarm == Decimal(60)
    assert result.alarm_date == FILL + timedelta(days=35)
    assert result.daily_volume_ml == Decimal("0.3")  # the fill date's dose, 150 mcg


def test_the_fraction_of_a_day_falls_inside_the_span_that_runs_out() -> None:
    # 9000 mcg: 10 days at 400 (4000), then 5000 / 600 = 8.33 days into the second span.
    result = over((span(0, 9, 400), span(10, 29, 600), span(30, 40, 800)))
    assert result.days_to_alarm == Decimal(10) + Decimal(5000) / Decimal(600)
    assert result.alarm_date == FILL + timedelta(days=18)


def test_days_before_the_schedule_take_its_first_dose_and_past_spans_are_skipped() -> None:
    before = over((span(5, 9, 300), span(10, 20, 600)))
    # 5 days at 300 before + 5 days at 300 = 3000, then 6000 / 600 = 10.
    assert before.days_to_alarm == Decimal(20)
    after = over((span(-20, -10, 100), span(-9, -1, 200), span(0, 40, 450)))
    assert after.days_to_alarm == Decimal(20)
    ended = over((span(-20, -11, 150), span(-10, -1, 300)))  # the last level is held
    assert (ended.days_to_alarm, ended.daily_volume_ml) == (Decimal(30), Decimal("0.6"))


@given(
    dose=st.integers(min_value=1, max_value=3000),
    reservoir=st.integers(min_value=10, max_value=50),
    offset=st.integers(min_value=-30, max_value=30),
)
def test_a_constant_schedule_gives_exactly_the_single_dose_answer(
    dose: int, reservoir: int, offset: int
) -> None:
    single = calculate_refill(
        reservoir_ml=Decimal(reservoir), alarm_volume_ml=Decimal(2),
        concentration_mcg_per_ml=Decimal(500), daily_dose=mcg(dose), fill_date=FILL,
        max_refill_interval_days=180, protocols=PROTOCOLS,
    )  # fmt: skip
    schedule = (span(offset, offset + 3, dose), span(offset + 4, offset + 60, dose))
    assert over(schedule, reservoir_ml=Decimal(reservoir)) == single


@given(
    doses=st.lists(st.integers(min_value=50, max_value=1000), min_size=1, max_size=6),
)
def test_a_higher_dose_on_any_day_never_moves_the_alarm_later(doses: list[int]) -> None:
    schedule = tuple(span(3 * i, 3 * i + 2, d) for i, d in enumerate(doses))
    raised = tuple(span(3 * i, 3 * i + 2, d + 50) for i, d in enumerate(doses))
    assert over(raised).days_to_alarm <= over(schedule).days_to_alarm


def test_refuses_an_empty_schedule_a_zero_dose_and_milligrams() -> None:
    with pytest.raises(InvalidInputError):
        over(())
    with pytest.raises(InvalidInputError):
        over((span(0, 3, 100), span(4, 8, 0)))
    with pytest.raises(WrongUnitError):
        over((DoseSpan(FILL, FILL, mg(5)),))


def test_refuses_dates_beyond_the_calendar() -> None:
    # The fill date's dose alone would last 9 days; the dose after it, 80 million years (the
    # fill date itself must lie in 1900-2200 and the maximum interval is required, A.6.8).
    with pytest.raises(InvalidInputError, match="beyond the calendar") as refused:
        over((span(0, 0, 1000), DoseSpan(FILL + timedelta(days=1), FILL + timedelta(days=9),
                                         mcg("0.0001"))))  # fmt: skip
    assert refused.value.field == "refill"


def test_the_schedule_keeps_the_single_dose_safety_rules() -> None:
    """A.6.8 over a schedule: the maximum interval is required, the pump must be real, the
    window never opens before the day after the fill, and a reservoir the schedule empties
    within the buffer is flagged although the fill date's dose alone would last 9 days."""
    rising = (span(0, 0, 1000), span(1, 10, 4000))  # 1000, then 8000 / 4000 = 2 days
    result = over(rising)
    assert result.days_to_alarm == Decimal(3)
    assert result.refill_due_date == FILL + timedelta(days=3)
    assert result.window_start == result.window_end == FILL + timedelta(days=1)
    assert [f.code for f in result.findings] == ["refill_due_within_buffer"]
    assert over(rising, refill_buffer_days=3).findings == ()  # 3 days is not within 3
    diluted = over(rising, concentration_mcg_per_ml=Decimal(250), reservoir_ml=Decimal(40))
    assert [f.code for f in diluted.findings] == ["refill_due_within_buffer",
                                                  "diluted_concentration"]  # fmt: skip
    with pytest.raises(RefillIntervalMissingError):
        over(rising, max_refill_interval_days=None)
    with pytest.raises(ConcentrationOutOfRangeError):
        over(rising, concentration_mcg_per_ml=Decimal(2001))
    with pytest.raises(ConcentrationOutOfRangeError):
        over(rising, concentration_mcg_per_ml=Decimal(49))
    with pytest.raises(ReservoirOutOfRangeError):
        over(rising, reservoir_ml=Decimal(51))
    with pytest.raises(ReservoirOutOfRangeError):
        over(rising, reservoir_ml=Decimal("9.9"))


def test_refusals_over_a_schedule_name_the_plan_and_keep_the_buffer_rule() -> None:
    with pytest.raises(InvalidInputError) as empty:
        over(())
    assert (empty.value.field, str(empty.value)) == (
        "plan", "The plan has no schedule to refill for.",
    )  # fmt: skip
    with pytest.raises(InvalidInputError) as zero:
        over((span(0, 3, 100), span(4, 8, 0)))
    assert (zero.value.field, str(zero.value)) == (
        "plan", "Every daily dose of the plan must be above 0.",
    )  # fmt: skip
    with pytest.raises(WrongUnitError) as milligrams:
        over((span(0, 3, 100), DoseSpan(FILL, FILL, mg(5))))
    assert milligrams.value.field == "daily_dose"
    with pytest.raises(InvalidInputError) as buffer:
        over((span(0, 3, 100),), refill_buffer_days=2)  # below the 3-5 day range
    assert buffer.value.field == "refill"


def test_the_fill_dates_dose_is_the_span_it_falls_in_up_to_its_last_day() -> None:
    # 18 mL × 500 mcg/mL = 9000 mcg usable; the daily volume is the fill date's dose.
    schedule = (span(-5, 0, 100), span(1, 5, 200), span(6, 9, 300))
    assert over(schedule).daily_volume_ml == Decimal("0.2")  # the fill date ends span one
    after = (span(-9, -7, 100), span(-6, -4, 200), span(-3, -1, 300))
    assert over(after).daily_volume_ml == Decimal("0.6")  # after the schedule: its last dose


def test_the_drug_is_spent_span_by_span_from_the_fill_date() -> None:
    # 9000 mcg: two days of span one at 1000 (2000), then span two at 500 a day: its five
    # days take 2500, then the last span at 4500 a day lasts 1 more day (4500 of 4500).
    schedule = (span(-3, 1, 1000), span(2, 6, 500), span(7, 30, 4500))
    assert over(schedule).days_to_alarm == Decimal(8)
    # From a fill date inside span two (span one already over): 9000 / 500 = 18 days of span
    # two would be needed, its five days take 2500, then 6500 / 4500 more at the last dose.
    later = over(schedule, fill_date=FILL + timedelta(days=2))
    assert later.days_to_alarm == Decimal(5) + Decimal(6500) / Decimal(4500)
