"""Doses with explicit units and the single dose-rounding rule.

Oral plans are in mg and intrathecal plans in mcg; the engine never converts between them
(RELIABILITY M3). Every dose is rounded *down* to what a formulation can deliver (A.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum

from app.domain.titration.errors import InvalidInputError, WrongUnitError

ZERO = Decimal(0)
_TENTH = Decimal("0.1")


class DoseUnit(StrEnum):
    MG = "mg"
    MCG = "mcg"


@dataclass(frozen=True, slots=True)
class Dose:
    """An exact, non-negative amount of baclofen in mg or mcg."""

    value: Decimal
    unit: DoseUnit

    def __post_init__(self) -> None:
        if not isinstance(self.value, Decimal) or not self.value.is_finite() or self.value < 0:
            raise InvalidInputError(
                f"A dose must be a finite, non-negative Decimal: {self.value!r}"
            )


def require_unit(dose: Dose, unit: DoseUnit, *, field: str) -> Dose:
    """Return ``dose`` when it is in ``unit``; refuse it otherwise, never convert (M3)."""
    if dose.unit is not unit:
        raise WrongUnitError(
            f"{field} is in {dose.unit.value}; this plan takes {unit.value} only.", field=field
        )
    return dose


def round_to_strength(amount: Decimal, strength: Decimal) -> Decimal:
    """Round ``amount`` down (ROUND_FLOOR) to a whole multiple of ``strength``.

    ``strength`` is the smallest amount a formulation delivers (5 mg for the tablet library,
    0.1 or 0.5 mg for 1 mg/mL solution, 1 mcg for pump programming). Rounding down means a
    planned dose never exceeds the dose the rules computed (A.1).
    """
    units = (amount / strength).to_integral_value(rounding=ROUND_FLOOR)
    return (units * strength).quantize(strength)


def round_up_to_strength(amount: Decimal, strength: Decimal) -> Decimal:
    """Round ``amount`` up (ROUND_CEILING) to a whole multiple of ``strength``."""
    units = (amount / strength).to_integral_value(rounding=ROUND_CEILING)
    return (units * strength).quantize(strength)


def round_measurement(value: Decimal) -> Decimal:
    """Round a clinical measurement (clearance, body weight) half-up to one decimal place.

    Used for values that are shown, not for doses; the R-IN-5 band edges are stated at
    one decimal place, so the band follows the shown value.
    """
    return value.quantize(_TENTH, rounding=ROUND_HALF_UP)


def plain_number(value: Decimal) -> str:
    """A number as ISMP writes it for people: "5", "0.5", "40.1"; never "5.0", ".5" or "1E+2".

    Messages that quote a dose or a measurement use it, so a finding shown on a page or a
    printout never carries a trailing zero that could be misread as ten times the dose.
    """
    return format(value.normalize(), "f")


def round_up_to_whole(quantity: Decimal) -> Decimal:
    """Whole units to dispense (tablets): a half tablet still needs a whole one supplied."""
    return quantity.to_integral_value(rounding=ROUND_CEILING)
