"""Intrathecal documents: screening-day sheet, titration sheet and pump card, all in mcg.

Built from the stored plan; nothing is converted to mg. The pump card's concentration, alarm
date and refill window come from the pump's own figures (reservoir, low-reservoir alarm
volume, concentration), given when the card is printed. Without an alarm volume no date is
printed, only a line to write it in: the rules hold no verified default (R-IT-F5), so none is
guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from app.domain.titration import Dose, DoseUnit, ProtocolSet, calculate_refill
from app.printing.doses import dose_text, per_day_text, take_text
from app.printing.i18n import translations
from app.printing.numbers import format_day, format_long_date, format_quantity
from app.printing.schedule import DoseChange


@dataclass(frozen=True, slots=True)
class SheetLine:
    day_label: str  # "Day 2"
    date_text: str  # "Wed, Dec 2"
    dose: str  # "75 mcg" (screening) or "165 mcg a day" (titration)
    how: str  # "1.5 mL of 50 mcg/mL, by lumbar puncture" / "by the pump, spread over 24 hours"
    change: DoseChange | None = None


@dataclass(frozen=True, slots=True)
class PumpFigures:
    """What the clinic reads from the pump at a refill; each may be missing."""

    reservoir_ml: Decimal | None = None
    alarm_volume_ml: Decimal | None = None
    concentration_mcg_per_ml: Decimal | None = None
    daily_dose_mcg: Decimal | None = None
    fill_date: date | None = None
    max_refill_interval_days: int | None = None


@dataclass(frozen=True, slots=True)
class PumpCard:
    dose: str  # "262 mcg a day"
    dose_from: str  # the date that dose applies from
    concentration: str | None  # "500 mcg/mL"; None leaves a line to fill in
    alarm_date: str | None
    refill_window: str | None
    refill_soon: bool = False  # A.6.8: the reservoir lasts less than the refill buffer


def build_sheet(plain: dict[str, Any], language: str) -> tuple[SheetLine, ...]:
    """One line per day of a screening or titration plan."""
    t = translations(language)
    lines = []
    for position, step in enumerate(plain["steps"]):
        admin = step["administrations"][0]
        screening = admin["time_of_day"] == "bolus"
        change = None
        if not screening and position > 0:
            before = Decimal(plain["steps"][position - 1]["daily_dose"]["value"])
            up = Decimal(step["daily_dose"]["value"]) > before
            change = DoseChange(
                text=t.gettext("New dose from today: %(dose)s")
                % {"dose": per_day_text(step["daily_dose"], language, t)},
                direction="up" if up else "down",
                word=t.gettext("higher") if up else t.gettext("lower"),
            )
        day = date.fromisoformat(step["start_date"])
        lines.append(
            SheetLine(
                day_label=t.gettext("Day %(day)s") % {"day": step["start_day"]},
                date_text=format_day(day, language),
                dose=dose_text(admin["dose"], language)
                if screening
                else per_day_text(step["daily_dose"], language, t),
                how=take_text(admin, language, t),
                change=change,
            )
        )
    return tuple(lines)


def build_pump_card(
    plain: dict[str, Any],
    language: str,
    *,
    figures: PumpFigures,
    today: date,
    protocols: ProtocolSet,
) -> PumpCard:
    """The card the patient carries: today's planned dose (or the one given) and refill dates.

    Raises:
        TitrationError: figures that cannot describe a pump (alarm volume above the
            reservoir, a dose in the wrong unit, …), from the refill calculator.
    """
    t = translations(language)
    # At a refill the card shows the dose running on the fill day; otherwise today's.
    step = _step_on(plain["steps"], figures.fill_date or today)
    dose = (
        {"value": str(figures.daily_dose_mcg), "unit": "mcg"}
        if figures.daily_dose_mcg is not None
        else step["daily_dose"]
    )
    planned_from = date.fromisoformat(step["start_date"])
    dose_from = (figures.fill_date or today) if figures.daily_dose_mcg is not None else planned_from
    concentration = figures.concentration_mcg_per_ml
    card = PumpCard(
        dose=per_day_text(dose, language, t),
        dose_from=format_long_date(dose_from, language),
        concentration=None
        if concentration is None
        else f"{format_quantity(concentration, 'mcg', language)}/mL",
        alarm_date=None,
        refill_window=None,
    )
    reservoir = figures.reservoir_ml
    interval = figures.max_refill_interval_days
    if reservoir is None or concentration is None or figures.alarm_volume_ml is None:
        return card
    if interval is None:  # A.6.8: no refill date without the maximum interval
        return card
    refill = calculate_refill(
        reservoir_ml=reservoir,
        alarm_volume_ml=figures.alarm_volume_ml,
        concentration_mcg_per_ml=concentration,
        daily_dose=Dose(Decimal(dose["value"]), DoseUnit(dose["unit"])),
        fill_date=figures.fill_date or today,
        max_refill_interval_days=interval,
        protocols=protocols,
    )
    window = t.gettext("%(start)s to %(end)s") % {
        "start": format_long_date(refill.window_start, language),
        "end": format_long_date(refill.window_end, language),
    }
    return PumpCard(
        dose=card.dose,
        dose_from=card.dose_from,
        concentration=card.concentration,
        alarm_date=format_long_date(refill.alarm_date, language),
        refill_window=window,
        refill_soon=any(f.code == "refill_due_within_buffer" for f in refill.findings),
    )


def ceiling_line(plain: dict[str, Any], language: str) -> str | None:
    """The day the titration reaches its ceiling and holds there (A.6.7), in words; None
    when it does not."""
    milestone = next((m for m in plain["milestones"] if m["kind"] == "ceiling_reached"), None)
    if milestone is None:
        return None
    t = translations(language)
    step = next(s for s in plain["steps"] if s["start_day"] == milestone["day"])
    return t.gettext(
        "From %(date)s the dose stays at %(dose)s. Your care team checks the pump and how you "
        "respond before any further increase."
    ) % {
        "date": format_long_date(date.fromisoformat(milestone["date"]), language),
        "dose": per_day_text(step["daily_dose"], language, t),
    }


def _step_on(steps: list[dict[str, Any]], day: date) -> dict[str, Any]:
    """The step planned for `day`: the first before the plan starts, the last after it ends."""
    for step in steps:
        if date.fromisoformat(step["start_date"]) <= day <= date.fromisoformat(step["end_date"]):
            return step
    return steps[0] if day < date.fromisoformat(steps[0]["start_date"]) else steps[-1]


def pump_card_from_refill(
    *,
    filled_on: date,
    daily_dose_mcg: Decimal,
    concentration_mcg_per_ml: Decimal,
    alarm_date: date,
    window_start: date,
    window_end: date,
    language: str,
) -> PumpCard:
    """The card with the figures of the pump's last recorded refill: the dose on its fill
    date, its concentration, and the alarm date and window computed when it was recorded
    (from the plan's daily dose on every day, not its first day's)."""
    t = translations(language)
    return PumpCard(
        dose=per_day_text({"value": str(daily_dose_mcg), "unit": "mcg"}, language, t),
        dose_from=format_long_date(filled_on, language),
        concentration=f"{format_quantity(concentration_mcg_per_ml, 'mcg', language)}/mL",
        alarm_date=format_long_date(alarm_date, language),
        refill_window=t.gettext("%(start)s to %(end)s")
        % {
            "start": format_long_date(window_start, language),
            "end": format_long_date(window_end, language),
        },
    )
