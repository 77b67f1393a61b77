"""How a recomputed plan differs from the stored one, from a given day on (issue 17, impact
of a protocol change before and after its approval).

Pure: two schedules in, the first day they differ out. A schedule is what the patient takes
each day: the daily dose, how it is divided over the day, and the preparation of each dose
(strength and count of tablets, or volume of a solution). Dispense quantities and findings
are not compared: they follow from the schedule, or do not change what is taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from app.domain.titration.plan import Administration, Preparation, Step
from app.domain.titration.units import Dose, DoseUnit

_ONE_DAY = timedelta(days=1)


class Change(StrEnum):
    """What differs on the first differing day, most important first."""

    DOSE = "dose"  # the daily dose (or the schedule starts or ends on another day)
    TIMING = "timing"  # the same daily dose, divided otherwise over the day
    PREPARATION = "preparation"  # the same doses, other tablets or volumes


# One administration as compared: time of day, dose value, dose unit, preparation.
_Taken = tuple[str, Decimal, str, tuple[object, ...] | None]  # str or its StrEnum


@dataclass(frozen=True, slots=True)
class Segment:
    """Days ``start``..``end`` (inclusive) of one step of a schedule."""

    start: date
    end: date
    step: int
    daily_dose: Dose
    taken: tuple[_Taken, ...]


@dataclass(frozen=True, slots=True)
class Difference:
    """The first day two schedules differ, the step of the new one then, and both doses
    (``None`` where that schedule gives nothing on that day)."""

    on: date
    change: Change
    step: int | None
    step_start: date | None
    old_dose: Dose | None
    new_dose: Dose | None


def segments(steps: Iterable[Step], since: date | None = None) -> tuple[Segment, ...]:
    """The schedule of a computed plan's steps, ordered by start date (only the steps that
    have not ended before ``since``, when given: earlier days are never compared)."""
    chosen = [
        Segment(
            start=step.start_date,
            end=step.end_date,
            step=step.index,
            daily_dose=step.daily_dose,
            taken=tuple(_taken(administration) for administration in step.administrations),
        )
        for step in steps
        if since is None or step.end_date >= since
    ]
    return tuple(sorted(chosen, key=lambda segment: segment.start))


def stored_segments(
    steps: Iterable[Mapping[str, Any]], since: date | None = None
) -> tuple[Segment, ...]:
    """The same schedule from a stored plan's steps as plain JSON data (decimals and dates
    as strings, the shape ``services.plan_codec.to_plain`` writes), read directly: the impact
    report reads 100,000 of them, and building every Step, Administration and Preparation
    first would cost as much as the engine. ``segments`` of a plan equals ``stored_segments``
    of its stored form (tests/unit/domain/test_impact_codec.py)."""
    chosen = []
    for step in steps:
        end = date.fromisoformat(step["end_date"])
        if since is not None and end < since:
            continue  # never compared: no need to read what it gives
        daily = step["daily_dose"]
        chosen.append(
            Segment(
                start=date.fromisoformat(step["start_date"]), end=end, step=step["index"],
                daily_dose=Dose(Decimal(daily["value"]), DoseUnit(daily["unit"])),
                taken=tuple(_stored_taken(given) for given in step["administrations"]),
            )
        )  # fmt: skip
    return tuple(sorted(chosen, key=lambda segment: segment.start))


def first_difference(
    old: Sequence[Segment], new: Sequence[Segment], since: date
) -> Difference | None:
    """The first day on or after ``since`` on which the schedules differ; None if they agree
    on every day from ``since`` on (a day neither gives anything counts as agreeing)."""
    at_old = at_new = 0
    for day in _boundaries(old, new, since):
        at_old, at_new = _skip_ended(old, at_old, day), _skip_ended(new, at_new, day)
        before, after = _covering(old, at_old, day), _covering(new, at_new, day)
        change = _change(before, after)
        if change is not None:
            return Difference(
                on=day, change=change,
                step=after.step if after else None,
                step_start=after.start if after else None,
                old_dose=before.daily_dose if before else None,
                new_dose=after.daily_dose if after else None,
            )  # fmt: skip
    return None


def _boundaries(old: Sequence[Segment], new: Sequence[Segment], since: date) -> list[date]:
    """Every day on or after ``since`` on which either schedule may change: within the days
    between two boundaries both schedules stay the same, so checking these days is enough."""
    days = {since}
    for segment in (*old, *new):
        days.add(segment.start)
        days.add(segment.end + _ONE_DAY)
    return sorted(day for day in days if day >= since)


def _skip_ended(schedule: Sequence[Segment], at: int, day: date) -> int:
    """The first segment from ``at`` on that has not ended before ``day`` (days only grow)."""
    while at < len(schedule) and schedule[at].end < day:
        at += 1
    return at


def _covering(schedule: Sequence[Segment], at: int, day: date) -> Segment | None:
    if at < len(schedule) and schedule[at].start <= day:
        return schedule[at]
    return None


def _change(before: Segment | None, after: Segment | None) -> Change | None:
    if before is None or after is None:
        return None if before is after else Change.DOSE
    if before.daily_dose != after.daily_dose:
        return Change.DOSE
    if before.taken == after.taken:
        return None
    if [t[:3] for t in before.taken] != [t[:3] for t in after.taken]:
        return Change.TIMING
    return Change.PREPARATION


# The enums below are StrEnums: a member equals its value, so a computed administration's
# tuple equals the stored one's without reading ``.value`` (tuples are compared, never hashed).
def _taken(administration: Administration) -> _Taken:
    dose = administration.dose
    return (
        administration.time_of_day,
        dose.value,
        dose.unit,
        _preparation(administration.preparation),
    )


def _preparation(preparation: Preparation | None) -> tuple[object, ...] | None:
    if preparation is None:
        return None
    strength, concentration = preparation.tablet_strength, preparation.concentration
    return (
        preparation.form,
        None if strength is None else (strength.value, strength.unit),
        preparation.tablets,
        None if concentration is None else (concentration.value, concentration.unit),
        preparation.volume_ml,
    )


def _stored_taken(administration: Mapping[str, Any]) -> _Taken:
    dose = administration["dose"]
    return (
        administration["time_of_day"],
        Decimal(dose["value"]),
        dose["unit"],
        _stored_preparation(administration.get("preparation")),
    )


def _stored_preparation(preparation: Mapping[str, Any] | None) -> tuple[object, ...] | None:
    if preparation is None:
        return None
    strength, concentration = preparation.get("tablet_strength"), preparation.get("concentration")
    tablets, volume = preparation.get("tablets"), preparation.get("volume_ml")
    return (
        preparation["form"],
        None if strength is None else (Decimal(strength["value"]), strength["unit"]),
        None if tablets is None else Decimal(tablets),
        None if concentration is None else (Decimal(concentration["value"]), concentration["unit"]),
        None if volume is None else Decimal(volume),
    )
