"""Laying dose levels out on the calendar: contiguous steps, day 1 = start date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from app.domain.titration.plan import Administration, DispenseLine, Milestone, MilestoneKind, Step
from app.domain.titration.units import Dose, DoseUnit


def make_step(
    index: int,
    start_day: int,
    *,
    end_day: int,
    start_date: date,
    unit: DoseUnit,
    administrations: tuple[Administration, ...],
    dispense: tuple[DispenseLine, ...] = (),
    mg_per_kg_day: Decimal | None = None,
) -> Step:
    """A step whose daily dose is the exact sum of its administrations."""
    total = Decimal(0)
    for administration in administrations:
        total += administration.dose.value
    return Step(
        index=index,
        start_day=start_day,
        end_day=end_day,
        start_date=start_date + timedelta(days=start_day - 1),  # date_of_day, inlined
        end_date=start_date + timedelta(days=end_day - 1),
        daily_dose=Dose(total, unit),
        administrations=administrations,
        dispense=dispense,
        mg_per_kg_day=mg_per_kg_day,
    )


# Steps made from shared (cached) administrations and dispense lines; see remembered_step.
MAX_REMEMBERED_STEPS = 4096
_remembered_steps: dict[tuple[object, ...], Step] = {}


def remembered_step(
    index: int,
    start_day: int,
    *,
    end_day: int,
    start_date: date,
    unit: DoseUnit,
    administrations: tuple[Administration, ...],
    dispense: tuple[DispenseLine, ...],
    mg_per_kg_day: Decimal | None = None,
) -> Step:
    """``make_step`` for administrations and dispense lines that are shared values (the oral
    lay-out's cached ones): an equal step made before is given again.

    The key names those two by identity (the remembered step holds them, so an identity is
    never reused while its entry lives) and ``mg_per_kg_day`` by its exact digits (1.5 and
    1.50 are stored differently). At most ``MAX_REMEMBERED_STEPS``; then it starts again.
    """
    per_kg = None if mg_per_kg_day is None else mg_per_kg_day.as_tuple()
    key = (index, start_day, end_day, start_date, unit, id(administrations), id(dispense), per_kg)
    step = _remembered_steps.get(key)
    if step is None or step.administrations is not administrations or step.dispense is not dispense:
        step = make_step(
            index, start_day, end_day=end_day, start_date=start_date, unit=unit,
            administrations=administrations, dispense=dispense, mg_per_kg_day=mg_per_kg_day,
        )  # fmt: skip
        if len(_remembered_steps) >= MAX_REMEMBERED_STEPS:
            _remembered_steps.clear()
        _remembered_steps[key] = step
    return step


def date_of_day(start_date: date, day: int) -> date:
    """Calendar date of plan day ``day`` (day 1 is ``start_date``)."""
    return start_date + timedelta(days=day - 1)


@lru_cache(maxsize=1024)
def milestone_on(start_date: date, day: int, kind: MilestoneKind, text: str) -> Milestone:
    """A milestone on plan day ``day`` (an immutable value: equal ones are shared)."""
    return Milestone(day, date_of_day(start_date, day), kind, text)
