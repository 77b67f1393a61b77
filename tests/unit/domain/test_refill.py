"""Pump refill calculator (A.3, R-IT-F5, SC-21)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.domain.titration import (
    AlarmVolumeMissingError,
    InvalidInputError,
    WrongUnitError,
    calculate_refill,
)
from app.domain.titration.errors import (
    ConcentrationOutOfRangeError,
    RefillIntervalMissingError,
    ReservoirOutOfRangeError,
)
from tests.unit.domain.builders import PROTOCOLS, mcg, mg

FILL = date(2026, 12, 1)


def refill(**overrides: object):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {
        "reservoir_ml": Decimal(40), "alarm_volume_ml": Decimal(2),
        "concentration_mcg_per_ml": Decimal(500), "daily_dose": mcg(400), "fill_date": FILL,
        "max_refill_interval_days": 180, "protocols": PROTOCOLS,
    }  # fmt: skip
    arguments.update(overrides)
    return calculate_refill(**arguments)  # type: ignore[arg-type]


def test_sc21_refill_alarm_after_47_5_days_booked_on_day_42_to_44() -> None:
    result = refill()
    assert result.days_to_alarm == Decimal("47.5")
    assert result.daily_volume_ml == Decimal("0.8")
    assert result.alarm_date == FILL + timedelta(days=47)
    assert (result.window_start, result.window_end) == (
        FILL + timedelta(days=42),
        FILL + timedelta(days=44),
    )
    assert not result.limited_by_max_interval


def test_sc21_high_concentration_refill_at_day_121_to_123_unless_the_interval_is_shorter() -> None:
    result = refill(concentration_mcg_per_ml=Decimal(2000), daily_dose=mcg(600))
    assert result.days_to_alarm.quantize(Decimal("0.1")) == Decimal("126.7")
    assert result.window_start == FILL + timedelta(days=121)
    capped = refill(
        concentration_mcg_per_ml=Decimal(2000), daily_dose=mcg(600), max_refill_interval_days=90
    )
    assert capped.limited_by_max_interval
    assert capped.refill_due_date == FILL + timedelta(days=90)
    assert capped.window_end == FILL + timedelta(days=87)


def test_refill_is_refused_without_the_alarm_volume() -> None:
    with pytest.raises(AlarmVolumeMissingError) as error:
        refill(alarm_volume_ml=None)
    assert error.value.code == "alarm_volume_missing"


def test_refill_refuses_a_dose_in_mg() -> None:
    with pytest.raises(WrongUnitError):
        refill(daily_dose=mg(400))


@pytest.mark.parametrize(
    "overrides",
    [
        {"alarm_volume_ml": Decimal(40)},
        {"concentration_mcg_per_ml": Decimal(0)},
        {"daily_dose": mcg(0)},
        {"refill_buffer_days": 2},
        {"max_refill_interval_days": 5},
    ],
)
def test_refill_refuses_impossible_inputs(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        refill(**overrides)


def test_a_three_day_buffer_gives_a_one_day_window() -> None:
    result = refill(refill_buffer_days=3)
    assert result.window_start == result.window_end == FILL + timedelta(days=44)


@pytest.mark.parametrize(
    "overrides",
    [
        # Found by Schemathesis through POST /api/v1/itb/refill (was an OverflowError, a 500).
        {"reservoir_ml": Decimal(50), "alarm_volume_ml": Decimal(0),
         "concentration_mcg_per_ml": Decimal(2000), "daily_dose": mcg(Decimal("0.0001"))},
        {"reservoir_ml": Decimal(50), "alarm_volume_ml": Decimal(0),
         "concentration_mcg_per_ml": Decimal(2000), "daily_dose": mcg(Decimal("0.001"))},
    ],
)  # fmt: skip
def test_refill_refuses_figures_that_put_a_date_off_the_calendar(
    overrides: dict[str, object],
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        refill(**overrides)
    assert refused.value.field == "refill"


@pytest.mark.parametrize("fill_date", [date(9999, 12, 1), date(1, 1, 2), date(1899, 12, 31)])
def test_refill_refuses_a_fill_date_outside_1900_to_2200(fill_date: date) -> None:
    """A.6.12 (these were OverflowErrors before the calendar check)."""
    with pytest.raises(InvalidInputError) as refused:
        refill(fill_date=fill_date, daily_dose=mcg(100_000))
    assert refused.value.field == "fill_date"


@pytest.mark.parametrize(
    ("overrides", "error", "field", "message"),
    [
        (
            {"alarm_volume_ml": None}, AlarmVolumeMissingError, "alarm_volume_ml",
            "Enter the pump's low-reservoir alarm volume from the device; no date is guessed.",
        ),
        (
            {"max_refill_interval_days": None}, RefillIntervalMissingError,
            "max_refill_interval_days",
            "Enter the maximum refill interval from the drug and device labelling; no date is "
            "given without it.",
        ),
        (
            {"fill_date": date(1899, 12, 31)}, InvalidInputError, "fill_date",
            "The fill date must lie between 1900-01-01 and 2200-12-31.",
        ),
        (
            {"concentration_mcg_per_ml": Decimal(49)}, ConcentrationOutOfRangeError,
            "concentration_mcg_per_ml", "Pump concentration must be 50–2000 mcg/mL (R-IT-F1).",
        ),
        (
            {"reservoir_ml": Decimal(51)}, ReservoirOutOfRangeError, "reservoir_ml",
            "Pump reservoir must be 10–50 mL (device manuals).",
        ),
        (
            {"alarm_volume_ml": Decimal(40)}, InvalidInputError, "refill",
            "Refill needs reservoir > alarm volume ≥ 0, a positive concentration and dose, a "
            "buffer of 3–5 days and a longer maximum interval.",
        ),
        (
            {"reservoir_ml": Decimal(50), "alarm_volume_ml": Decimal(0),
             "concentration_mcg_per_ml": Decimal(2000), "daily_dose": mcg(Decimal("0.0001"))},
            InvalidInputError, "refill",
            "These figures put the alarm or the refill beyond the calendar (year 1–9999): check "
            "the dose, the concentration, the volumes and the fill date.",
        ),
        (
            {"daily_dose": mg(400)}, WrongUnitError, "daily_dose",
            "daily_dose is in mg; this plan takes mcg only.",
        ),
    ],
)  # fmt: skip
def test_each_refused_refill_names_its_field_and_says_what_to_enter(
    overrides: dict[str, object], error: type[Exception], field: str, message: str
) -> None:
    with pytest.raises(error) as refused:
        refill(**overrides)
    assert (refused.value.field, str(refused.value)) == (field, message)  # type: ignore[attr-defined]


def test_a_diluted_concentration_is_named_with_its_figure() -> None:
    result = refill(concentration_mcg_per_ml=Decimal(250), daily_dose=mcg(100))
    (diluted,) = result.findings
    assert diluted.code == "diluted_concentration"
    assert diluted.message.endswith(" Concentration: 250 mcg/mL.")
