"""Intrathecal pump refill calculator (A.3, R-IT-F5, A.6.8).

days to alarm = (reservoir − low-reservoir alarm volume) × concentration ÷ daily dose.
The alarm volume and the maximum refill interval come from the device and the drug
labelling: without either no date is given (the rules hold no verified default). The
concentration (50–2000 mcg/mL) and the reservoir (10–50 mL) must describe a real pump; the
refill window never opens before the day after the fill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from app.domain.plausibility import EARLIEST_DATE, LATEST_DATE, date_in_range
from app.domain.titration.errors import (
    AlarmVolumeMissingError,
    ConcentrationOutOfRangeError,
    InvalidInputError,
    RefillIntervalMissingError,
    ReservoirOutOfRangeError,
)
from app.domain.titration.findings import Finding
from app.domain.titration.library import ProtocolSet
from app.domain.titration.units import Dose, DoseUnit, plain_number, require_unit


@dataclass(frozen=True, slots=True)
class RefillPlan:
    """When the low-reservoir alarm sounds and when to book the refill."""

    daily_volume_ml: Decimal
    days_to_alarm: Decimal
    alarm_date: date
    refill_due_date: date
    limited_by_max_interval: bool
    window_start: date
    window_end: date
    findings: tuple[Finding, ...] = ()


def calculate_refill(
    *,
    reservoir_ml: Decimal,
    alarm_volume_ml: Decimal | None,
    concentration_mcg_per_ml: Decimal,
    daily_dose: Dose,
    fill_date: date,
    max_refill_interval_days: int | None,
    protocols: ProtocolSet,
    refill_buffer_days: int | None = None,
) -> RefillPlan:
    """Alarm date and refill window (3–5 days before the due date, R-IT-F5 [GIL]).

    The due date is the alarm date, or the maximum refill interval when that comes first.
    The alarm falls on the last whole day before the computed volume is reached. The window
    opens on the day after the fill at the earliest; a reservoir that lasts less than the
    buffer gives ``refill_due_within_buffer`` (major), a dilution ``diluted_concentration``, an
    undiluted concentration the clinic's formulary does not stock ``concentration_not_stocked``
    (major).
    """
    if alarm_volume_ml is None:
        raise AlarmVolumeMissingError(
            "Enter the pump's low-reservoir alarm volume from the device; no date is guessed.",
            field="alarm_volume_ml",
        )
    if max_refill_interval_days is None:
        raise RefillIntervalMissingError(
            "Enter the maximum refill interval from the drug and device labelling; "
            "no date is given without it.",
            field="max_refill_interval_days",
        )
    if not date_in_range(fill_date):
        raise InvalidInputError(
            f"The fill date must lie between {EARLIEST_DATE.isoformat()} and "
            f"{LATEST_DATE.isoformat()}.",
            field="fill_date",
        )
    _check_pump(reservoir_ml, concentration_mcg_per_ml, protocols)
    dose = require_unit(daily_dose, DoseUnit.MCG, field="daily_dose").value
    buffer_min, buffer_max = _buffer_bounds(protocols)
    buffer = buffer_max if refill_buffer_days is None else refill_buffer_days
    _check_inputs(
        reservoir_ml,
        alarm_volume_ml,
        concentration_mcg_per_ml,
        dose,
        buffer,
        max_refill_interval_days,
        (buffer_min, buffer_max),
    )
    return _refill_plan(
        fill_date=fill_date,
        days_to_alarm=(reservoir_ml - alarm_volume_ml) * concentration_mcg_per_ml / dose,
        daily_volume_ml=dose / concentration_mcg_per_ml,
        max_refill_interval_days=max_refill_interval_days,
        buffers=(buffer_min, buffer),
        concentration=concentration_mcg_per_ml,
        protocols=protocols,
    )


def _refill_plan(
    *,
    fill_date: date,
    days_to_alarm: Decimal,
    daily_volume_ml: Decimal,
    max_refill_interval_days: int,
    buffers: tuple[int, int],
    concentration: Decimal,
    protocols: ProtocolSet,
) -> RefillPlan:
    """The dates and findings of a refill whose days to the alarm are known (both
    calculators): the window opens on the day after the fill at the earliest (A.6.8)."""
    try:
        alarm_date, due_date, window = _dates(
            fill_date, days_to_alarm, max_refill_interval_days, buffers
        )
        earliest = fill_date + timedelta(days=1)
    except OverflowError as exc:
        # E.g. 100 mL of 5000 mcg/mL at 0.01 mcg/day: an alarm in 137 million years.
        raise InvalidInputError(
            "These figures put the alarm or the refill beyond the calendar (year 1–9999): "
            "check the dose, the concentration, the volumes and the fill date.",
            field="refill",
        ) from exc
    return RefillPlan(
        daily_volume_ml=daily_volume_ml,
        days_to_alarm=days_to_alarm,
        alarm_date=alarm_date,
        refill_due_date=due_date,
        limited_by_max_interval=due_date < alarm_date,
        window_start=max(window[0], earliest),
        window_end=max(window[1], earliest),
        findings=_refill_findings(days_to_alarm, buffers[1], concentration, protocols),
    )


def _check_pump(reservoir_ml: Decimal, concentration: Decimal, protocols: ProtocolSet) -> None:
    """A.6.8: 50–2000 mcg/mL (R-IT-F1) and a 10–50 mL reservoir (device manuals)."""
    itb = protocols.itb
    low, high = (
        itb.decimal("pump_concentration_min_mcg_ml"),
        itb.decimal("pump_concentration_max_mcg_ml"),
    )
    if not low <= concentration <= high:
        raise ConcentrationOutOfRangeError(
            f"Pump concentration must be {plain_number(low)}–{plain_number(high)} mcg/mL "
            "(R-IT-F1).",
            field="concentration_mcg_per_ml",
        )
    smallest, largest = itb.decimal("reservoir_min_ml"), itb.decimal("reservoir_max_ml")
    if not smallest <= reservoir_ml <= largest:
        raise ReservoirOutOfRangeError(
            f"Pump reservoir must be {plain_number(smallest)}–{plain_number(largest)} mL "
            "(device manuals).",
            field="reservoir_ml",
        )


def _refill_findings(
    days_to_alarm: Decimal, buffer: int, concentration: Decimal, protocols: ProtocolSet
) -> tuple[Finding, ...]:
    catalogue, itb = protocols.findings, protocols.itb
    findings = []
    if days_to_alarm < buffer:
        findings.append(
            catalogue.make(
                "refill_due_within_buffer",
                f"Days to the alarm: {plain_number(days_to_alarm.quantize(Decimal('0.1')))}; "
                f"buffer: {buffer} days.",
            )
        )
    stocked = protocols.formulary.decimal_lists["intrathecal_pump_mcg_per_ml"]
    undiluted = itb.decimal("pump_concentration_undiluted_mcg_ml")
    # Below the lowest marketed strength it is a dilution, which diluted_concentration names.
    if concentration not in stocked and concentration >= undiluted:
        findings.append(
            catalogue.make(
                "concentration_not_stocked",
                f"Concentration: {plain_number(concentration)} mcg/mL; the formulary stocks "
                f"{', '.join(plain_number(value) for value in stocked) or 'none'} mcg/mL.",
            )
        )
    if concentration < undiluted:
        findings.append(
            catalogue.make(
                "diluted_concentration", f"Concentration: {plain_number(concentration)} mcg/mL."
            )
        )
    return tuple(findings)


def _dates(
    fill_date: date,
    days_to_alarm: Decimal,
    max_refill_interval_days: int,
    buffers: tuple[int, int],
) -> tuple[date, date, tuple[date, date]]:
    """Alarm, due date and refill window; OverflowError when one falls off the calendar."""
    alarm_date = fill_date + timedelta(
        days=int(days_to_alarm.to_integral_value(rounding=ROUND_FLOOR))
    )
    due_date = min(alarm_date, fill_date + timedelta(days=max_refill_interval_days))
    buffer_min, buffer = buffers
    return (
        alarm_date,
        due_date,
        (
            due_date - timedelta(days=buffer),
            due_date - timedelta(days=buffer_min),
        ),
    )


def _buffer_bounds(protocols: ProtocolSet) -> tuple[int, int]:
    itb = protocols.itb
    return itb.integer("refill_buffer_min_days"), itb.integer("refill_buffer_max_days")


def _check_inputs(
    reservoir_ml: Decimal,
    alarm_volume_ml: Decimal,
    concentration_mcg_per_ml: Decimal,
    dose: Decimal,
    buffer: int,
    max_refill_interval_days: int,
    buffer_bounds: tuple[int, int],
) -> None:
    buffer_min, buffer_max = buffer_bounds
    if not (
        0 <= alarm_volume_ml < reservoir_ml
        and concentration_mcg_per_ml > 0
        and dose > 0
        and buffer_min <= buffer <= buffer_max
        and max_refill_interval_days > buffer
    ):
        raise InvalidInputError(
            "Refill needs reservoir > alarm volume ≥ 0, a positive concentration and dose, a "
            f"buffer of {buffer_min}–{buffer_max} days and a longer maximum interval.",
            field="refill",
        )


@dataclass(frozen=True, slots=True)
class DoseSpan:
    """From ``start`` to ``end`` (inclusive) the pump delivers ``daily_dose`` a day."""

    start: date
    end: date
    daily_dose: Dose


def calculate_refill_over_schedule(
    *,
    reservoir_ml: Decimal,
    alarm_volume_ml: Decimal | None,
    concentration_mcg_per_ml: Decimal,
    schedule: tuple[DoseSpan, ...],
    fill_date: date,
    max_refill_interval_days: int | None,
    protocols: ProtocolSet,
    refill_buffer_days: int | None = None,
) -> RefillPlan:
    """Like ``calculate_refill`` (the same checks, window rule and findings), but the pump
    delivers the plan's daily dose of each day from the fill date: a rising titration empties
    the reservoir sooner than its first day's dose says. Days before the schedule take its
    first dose, days after it its last (held).

    The usable drug, (reservoir − alarm volume) × concentration, is spent day by day; the
    days to the alarm are the whole days it covers plus the fraction of the next day, so a
    constant schedule gives exactly ``calculate_refill``'s answer.
    """
    if not schedule:
        raise InvalidInputError("The plan has no schedule to refill for.", field="plan")
    for span in schedule:
        if require_unit(span.daily_dose, DoseUnit.MCG, field="daily_dose").value <= 0:
            raise InvalidInputError("Every daily dose of the plan must be above 0.", field="plan")
    # Checks every figure as the single-dose calculator does, at the fill date's dose.
    on_fill = calculate_refill(
        reservoir_ml=reservoir_ml, alarm_volume_ml=alarm_volume_ml,
        concentration_mcg_per_ml=concentration_mcg_per_ml,
        daily_dose=Dose(_dose_on(schedule, fill_date), DoseUnit.MCG),
        fill_date=fill_date, max_refill_interval_days=max_refill_interval_days,
        protocols=protocols, refill_buffer_days=refill_buffer_days,
    )  # fmt: skip
    # calculate_refill refuses a missing alarm volume or maximum interval.
    assert alarm_volume_ml is not None  # nosec B101: an invariant that narrows the type
    assert max_refill_interval_days is not None  # nosec B101: an invariant that narrows the type
    days_to_alarm = _days_covered(
        (reservoir_ml - alarm_volume_ml) * concentration_mcg_per_ml, schedule, fill_date
    )
    buffer_min, buffer_max = _buffer_bounds(protocols)
    buffer = buffer_max if refill_buffer_days is None else refill_buffer_days
    # The same dates and findings as the single dose, from the schedule's days to the alarm.
    return _refill_plan(
        fill_date=fill_date,
        days_to_alarm=days_to_alarm,
        daily_volume_ml=on_fill.daily_volume_ml,
        max_refill_interval_days=max_refill_interval_days,
        buffers=(buffer_min, buffer),
        concentration=concentration_mcg_per_ml,
        protocols=protocols,
    )


def _dose_on(schedule: tuple[DoseSpan, ...], day: date) -> Decimal:
    for span in schedule:
        if day <= span.end:
            return span.daily_dose.value
    return schedule[-1].daily_dose.value


def _days_covered(usable_mcg: Decimal, schedule: tuple[DoseSpan, ...], fill_date: date) -> Decimal:
    """Whole days the usable drug lasts from the fill date, plus the fraction of the next.
    Spans are contiguous; the last one is held for as long as the drug lasts."""
    remaining, days, day = usable_mcg, Decimal(0), fill_date
    for span in schedule[:-1]:
        if span.end < day:
            continue
        length = (span.end - day).days + 1
        needed = span.daily_dose.value * length
        if remaining < needed:
            return _days_and_fraction(days, remaining, span.daily_dose.value)
        remaining -= needed
        days += length
        day = span.end + timedelta(days=1)
    return _days_and_fraction(days, remaining, schedule[-1].daily_dose.value)


def _days_and_fraction(days: Decimal, remaining: Decimal, dose: Decimal) -> Decimal:
    """``days + remaining / dose`` with one rounding, as the single dose's one division: at a
    constant dose ``days × dose + remaining`` is the usable drug itself, so the answers agree
    to the last digit (two roundings could differ in the 28th)."""
    return (days * dose + remaining) / dose
