"""Laying dose levels out on the calendar: contiguous steps, day 1 = start date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

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


def date_of_day(start_date: date, day: int) -> date:
    """Calendar date of plan day ``day`` (day 1 is ``start_date``)."""
    return start_date + timedelta(days=day - 1)


def milestone_on(start_date: date, day: int, kind: MilestoneKind, text: str) -> Milestone:
    """A milestone on plan day ``day``."""
    return Milestone(day, date_of_day(start_date, day), kind, text)
