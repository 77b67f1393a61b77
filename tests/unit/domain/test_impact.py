"""The first day two schedules differ (domain/titration/impact.py): the comparison behind the
protocol impact report and the worklist's "protocol updated — review"."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from app.domain.titration import (
    Administration,
    Dose,
    DoseUnit,
    Preparation,
    PreparationForm,
    Step,
    TimeOfDay,
)
from app.domain.titration.impact import Change, first_difference, segments

DAY1 = date(2027, 1, 4)
MG = DoseUnit.MG


def _tablets(strength: int, count: str) -> Preparation:
    return Preparation(
        PreparationForm.TABLET, tablet_strength=Dose(Decimal(strength), MG), tablets=Decimal(count)
    )


def _step(index: int, first: int, last: int, *doses: str, strength: int = 5) -> Step:
    times = (TimeOfDay.MORNING, TimeOfDay.MIDDAY, TimeOfDay.EVENING)
    administrations = tuple(
        Administration(
            time,
            Dose(Decimal(dose), MG),
            _tablets(strength, str(Decimal(dose) / strength)),
        )
        for time, dose in zip(times, doses, strict=False)
    )
    total = sum((Decimal(d) for d in doses), Decimal(0))
    return Step(
        index=index, start_day=first, end_day=last,
        start_date=DAY1 + timedelta(days=first - 1), end_date=DAY1 + timedelta(days=last - 1),
        daily_dose=Dose(total, MG), administrations=administrations,
    )  # fmt: skip


EVERY_3_DAYS = (_step(1, 1, 3, "5", "5", "5"), _step(2, 4, 6, "10", "10", "10"),
                _step(3, 7, 42, "15", "15", "15"))  # fmt: skip
EVERY_7_DAYS = (_step(1, 1, 7, "5", "5", "5"), _step(2, 8, 14, "10", "10", "10"),
                _step(3, 15, 42, "15", "15", "15"))  # fmt: skip


def test_the_same_schedule_does_not_differ() -> None:
    assert first_difference(segments(EVERY_3_DAYS), segments(EVERY_3_DAYS), DAY1) is None


def test_longer_steps_differ_on_the_first_day_the_old_plan_moved_up() -> None:
    found = first_difference(segments(EVERY_3_DAYS), segments(EVERY_7_DAYS), DAY1)
    assert found is not None
    assert (found.on, found.change, found.step, found.step_start) == (
        DAY1 + timedelta(days=3), Change.DOSE, 1, DAY1,
    )  # fmt: skip
    assert (found.old_dose, found.new_dose) == (Dose(Decimal(30), MG), Dose(Decimal(15), MG))


def test_only_days_from_the_comparison_day_count() -> None:
    since = DAY1 + timedelta(days=10)  # old: 45 mg/day since day 7; new: 30 until day 14
    found = first_difference(segments(EVERY_3_DAYS), segments(EVERY_7_DAYS), since)
    assert found is not None
    assert (found.on, found.step, found.step_start) == (since, 2, DAY1 + timedelta(days=7))
    assert (
        first_difference(segments(EVERY_3_DAYS), segments(EVERY_7_DAYS), DAY1 + timedelta(days=14))
        is None
    )


def test_the_same_daily_dose_divided_otherwise_is_a_timing_change() -> None:
    old = (_step(1, 1, 42, "10", "10", "10"),)
    new = (_step(1, 1, 42, "15", "15"),)
    found = first_difference(segments(old), segments(new), DAY1)
    assert found is not None
    assert (found.change, found.old_dose, found.new_dose) == (
        Change.TIMING, Dose(Decimal(30), MG), Dose(Decimal(30), MG),
    )  # fmt: skip


def test_other_tablets_for_the_same_doses_are_a_preparation_change() -> None:
    old = (_step(1, 1, 42, "10", "10", "10", strength=5),)
    new = (_step(1, 1, 42, "10", "10", "10", strength=10),)
    found = first_difference(segments(old), segments(new), DAY1)
    assert found is not None
    assert found.change is Change.PREPARATION


def test_a_schedule_that_ends_or_is_blocked_differs_where_the_other_goes_on() -> None:
    shorter = EVERY_3_DAYS[:2]
    found = first_difference(segments(EVERY_3_DAYS), segments(shorter), DAY1)
    assert found is not None
    assert (found.on, found.step, found.new_dose) == (DAY1 + timedelta(days=6), None, None)
    blocked = first_difference(segments(EVERY_3_DAYS), (), DAY1 + timedelta(days=50))
    assert blocked is None  # nothing of the old plan is left to change
    started = first_difference((), segments(EVERY_3_DAYS), DAY1)
    assert started is not None
    assert started.old_dose is None
    assert started.step == 1


def test_equal_doses_written_with_other_trailing_zeros_are_equal() -> None:
    old = segments((_step(1, 1, 42, "10.0", "10", "10"),))
    new = segments((_step(1, 1, 42, "10", "10.00", "10"),))
    assert first_difference(old, new, DAY1) is None


def test_steps_ended_before_the_comparison_day_are_left_out_and_change_nothing() -> None:
    since = DAY1 + timedelta(days=7)
    assert [s.step for s in segments(EVERY_3_DAYS, since)] == [3]
    for old, new in ((EVERY_3_DAYS, EVERY_7_DAYS), (EVERY_7_DAYS, EVERY_3_DAYS)):
        whole = first_difference(segments(old), segments(new), since)
        cut = first_difference(segments(old, since), segments(new, since), since)
        assert cut == whole


def test_a_schedule_that_runs_longer_differs_on_the_first_day_the_other_gives_nothing() -> None:
    shorter = (_step(1, 1, 10, "5", "5", "5"),)
    longer = (_step(1, 1, 20, "5", "5", "5"),)
    difference = first_difference(segments(shorter), segments(longer), DAY1)
    assert difference is not None
    assert difference.on == DAY1 + timedelta(days=10)  # day 11, not a later boundary
    assert (difference.change, difference.old_dose) == (Change.DOSE, None)


def test_a_step_split_in_two_with_the_same_doses_is_no_difference() -> None:
    """The second schedule starts a step on day 10, the first schedule's last day: that day
    is still the first schedule's step, with the same doses."""
    whole = (_step(1, 1, 10, "5", "5", "5"), _step(2, 11, 12, "10", "10", "10"))
    split = (_step(1, 1, 9, "5", "5", "5"), _step(2, 10, 10, "5", "5", "5"),
             _step(3, 11, 12, "10", "10", "10"))  # fmt: skip
    assert first_difference(segments(whole), segments(split), DAY1) is None


def test_a_step_that_ends_on_the_day_the_other_schedule_starts_one_still_covers_that_day() -> None:
    """Both schedules give 15 mg/day throughout; the first's step ends on day 10, the day the
    second's longer step starts: day 10 is covered by both."""
    first = (_step(1, 1, 10, "5", "5", "5"), _step(2, 11, 20, "5", "5", "5"))
    second = (_step(1, 1, 9, "5", "5", "5"), _step(2, 10, 20, "5", "5", "5"))
    assert first_difference(segments(first), segments(second), DAY1) is None
