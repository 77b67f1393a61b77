"""What a plan-type builder hands back before findings and overrides are settled."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.domain.titration.plan import DispenseLine, Limits, Milestone, PreparationForm, Step
from app.domain.titration.protocol import ProtocolRef
from app.domain.titration.units import round_up_to_whole


@dataclass(frozen=True, slots=True)
class FindingCode:
    """A finding the builder raised, with patient-specific detail for its message."""

    code: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Draft:
    steps: tuple[Step, ...]
    milestones: tuple[Milestone, ...]
    limits: Limits
    findings: tuple[FindingCode, ...]
    protocols: tuple[ProtocolRef, ...]

    @property
    def dispense(self) -> tuple[DispenseLine, ...]:
        """Totals per product across steps (same strength or concentration summed).

        Steps count halves as halves; tablets are rounded up to whole ones per strength over
        the plan (A.6.3), so two steps of half a tablet a day do not each round up.

        Remembered per combination of the steps' dispense lines, which the oral lay-out
        shares between plans: named by identity (the entry holds them, so an identity is not
        reused while it lives), at most ``MAX_REMEMBERED_TOTALS``, then it starts again.
        """
        lines = tuple(step.dispense for step in self.steps)
        key = tuple(map(id, lines))
        remembered = _remembered_totals.get(key)
        if remembered is not None and remembered[0] == lines:
            return remembered[1]
        totals = _totals(lines)
        if len(_remembered_totals) >= MAX_REMEMBERED_TOTALS:
            _remembered_totals.clear()
        _remembered_totals[key] = (lines, totals)
        return totals


MAX_REMEMBERED_TOTALS = 4096
_remembered_totals: dict[
    tuple[int, ...], tuple[tuple[tuple[DispenseLine, ...], ...], tuple[DispenseLine, ...]]
] = {}


def _totals(lines: tuple[tuple[DispenseLine, ...], ...]) -> tuple[DispenseLine, ...]:
    totals: dict[tuple[object, ...], tuple[DispenseLine, Decimal]] = {}
    for step_lines in lines:
        for line in step_lines:
            strength, concentration = line.tablet_strength, line.concentration
            key = (
                line.form,
                None if strength is None else (strength.value, strength.unit),
                None if concentration is None else (concentration.value, concentration.unit),
            )
            previous = totals.get(key)
            totals[key] = (line, line.quantity + previous[1]) if previous else (line, line.quantity)
    return tuple(
        DispenseLine(
            line.form,
            round_up_to_whole(quantity) if line.form is PreparationForm.TABLET else quantity,
            line.quantity_unit,
            line.tablet_strength,
            line.concentration,
        )
        for line, quantity in totals.values()
    )
