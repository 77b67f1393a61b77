"""Turning an oral daily dose into single doses a formulation can deliver (A.1).

Every single dose is rounded down to the formulation's granularity; an uneven split puts
the extra units on the evening dose first (R-OA §2 PROPOSAL, order from the protocol);
the daily dose is the exact sum of the planned single doses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.domain.titration.errors import DoseNotDeliverableError
from app.domain.titration.model import Formulation
from app.domain.titration.plan import (
    Administration,
    Concentration,
    DispenseLine,
    Preparation,
    PreparationForm,
    Step,
    TimeOfDay,
)
from app.domain.titration.protocol import Protocol
from app.domain.titration.steps import make_step
from app.domain.titration.units import Dose, DoseUnit, round_to_strength, round_up_to_whole

# Times of day for 1–4 doses. A single dose goes in the evening, where the larger part of
# an uneven split goes too (R-OA §2 PROPOSAL); see CHOICES.md.
DOSE_TIMES: dict[int, tuple[TimeOfDay, ...]] = {
    1: (TimeOfDay.EVENING,),
    2: (TimeOfDay.MORNING, TimeOfDay.EVENING),
    3: (TimeOfDay.MORNING, TimeOfDay.MIDDAY, TimeOfDay.EVENING),
    4: (TimeOfDay.MORNING, TimeOfDay.MIDDAY, TimeOfDay.EVENING, TimeOfDay.NIGHT),
}


@dataclass(frozen=True, slots=True)
class DoseForm:
    """A formulation and the smallest single-dose increment it delivers (mg)."""

    formulation: Formulation
    step: Decimal
    tablet_strengths: tuple[Decimal, ...] = ()
    scored_strengths: tuple[Decimal, ...] = ()
    mg_per_ml: Decimal | None = None

    def delivers(self, amount: Decimal) -> bool:
        """True when ``amount`` is a positive whole multiple of the increment."""
        return amount >= self.step and round_to_strength(amount, self.step) == amount


def tablet_form(formulations: Protocol) -> DoseForm:
    """Tablet library; halves only of scored tablets (5 mg granularity by default)."""
    strengths = formulations.decimal_lists["tablet_strengths_mg"]
    scored = formulations.decimal_lists["scored_tablet_strengths_mg"]
    step = min(strength / 2 if strength in scored else strength for strength in strengths)
    return DoseForm(Formulation.TABLET, step, strengths, scored)


def solution_form(formulations: Protocol, *, child: bool) -> DoseForm:
    """1 mg/mL solution: 0.1 mg steps for children, 0.5 mg for adults (§11 rounding)."""
    step_name = "solution_step_child_mg" if child else "solution_step_adult_mg"
    return DoseForm(
        Formulation.ORAL_SOLUTION,
        formulations.decimal(step_name),
        mg_per_ml=formulations.decimal("solution_mg_per_ml"),
    )


def fit_dose_count(daily: Decimal, preferred: int, form: DoseForm) -> int:
    """Fewer doses a day when a single dose would fall below what the form delivers (A.1)."""
    count = preferred
    while count > 1 and round_to_strength(daily / count, form.step) < form.step:
        count -= 1
    return count


def split_daily(
    daily: Decimal, count: int, form: DoseForm, priority: Sequence[str]
) -> tuple[Decimal, ...]:
    """Split ``daily`` into ``count`` doses rounded down; leftover units go by ``priority``."""
    base = round_to_strength(daily / count, form.step)
    leftover_units = int((daily - base * count) / form.step)
    times = DOSE_TIMES[count]
    favoured = [time for name in priority for time in times if time.value == name][:leftover_units]
    # Callers choose a form that delivers the lowest planned dose, so every dose is > 0.
    return tuple(base + (form.step if time in favoured else 0) for time in times)


def administer(
    doses: tuple[Decimal, ...], form: DoseForm, days: int
) -> tuple[tuple[Administration, ...], tuple[DispenseLine, ...]]:
    """Administrations with their preparation, and what to dispense for ``days`` days."""
    times = DOSE_TIMES[len(doses)]
    if form.mg_per_ml is None:
        return _tablets(doses, times, form, days)
    concentration = Concentration(form.mg_per_ml, DoseUnit.MG)
    administrations = tuple(
        Administration(
            time,
            Dose(dose, DoseUnit.MG),
            Preparation(
                PreparationForm.ORAL_SOLUTION,
                concentration=concentration,
                volume_ml=dose / form.mg_per_ml,
            ),
        )
        for time, dose in zip(times, doses, strict=True)
    )
    volume = sum(doses, Decimal(0)) / form.mg_per_ml * days
    return administrations, (
        DispenseLine(PreparationForm.ORAL_SOLUTION, volume, "mL", concentration=concentration),
    )


def _tablets(
    doses: tuple[Decimal, ...], times: tuple[TimeOfDay, ...], form: DoseForm, days: int
) -> tuple[tuple[Administration, ...], tuple[DispenseLine, ...]]:
    strength = _choose_strength(doses, form)
    tablet = Dose(strength, DoseUnit.MG)
    administrations = tuple(
        Administration(
            time,
            Dose(dose, DoseUnit.MG),
            Preparation(PreparationForm.TABLET, tablet, dose / strength),
        )
        for time, dose in zip(times, doses, strict=True)
    )
    # Halves are counted, then rounded up to whole tablets per step (A.1).
    quantity = round_up_to_whole(sum(doses, Decimal(0)) / strength * days)
    return administrations, (
        DispenseLine(PreparationForm.TABLET, quantity, "tablet", tablet_strength=tablet),
    )


def _choose_strength(doses: tuple[Decimal, ...], form: DoseForm) -> Decimal:
    """One strength per step: whole tablets before halves, then the fewest tablets a day.

    A candidate always exists: the increment is a whole or half of the smallest-step strength.
    """
    candidates = []
    for strength in form.tablet_strengths:
        counts = [dose / strength for dose in doses]
        whole = all(count == count.to_integral_value() for count in counts)
        halves = strength in form.scored_strengths and all(
            (2 * count) == (2 * count).to_integral_value() for count in counts
        )
        if whole or halves:
            candidates.append((not whole, sum(counts, Decimal(0)), strength))
    return min(candidates)[2]


def choose_form(
    requested: Formulation | None,
    *,
    weight_kg: Decimal | None,
    child: bool,
    formulations: Protocol,
    usable: Callable[[DoseForm], bool],
) -> tuple[DoseForm, bool]:
    """Tablets unless under 33 kg or the doses cannot be given with tablets (A.1, R-PED-8).

    Returns the form and whether the solution was imposed by the rules (``solution_only``).
    """
    solution = solution_form(formulations, child=child)
    if requested is not Formulation.ORAL_SOLUTION:
        tablets = tablet_form(formulations)
        min_weight = formulations.decimal("tablet_min_weight_kg")
        if (weight_kg is None or weight_kg >= min_weight) and usable(tablets):
            return tablets, False
    if not usable(solution):
        raise DoseNotDeliverableError("No formulation in the library can deliver these doses.")
    return solution, requested is not Formulation.ORAL_SOLUTION


def lay_out(
    levels: Sequence[tuple[Decimal, ...]],
    *,
    level_days: int,
    last_until_day: int,
    start_date: date,
    form: DoseForm,
) -> tuple[Step, ...]:
    """Contiguous steps of ``level_days`` each; the last runs at least to ``last_until_day``."""
    steps = []
    for index, doses in enumerate(levels, start=1):
        start_day = 1 + (index - 1) * level_days
        end_day = start_day + level_days - 1
        if index == len(levels):
            end_day = max(end_day, last_until_day)
        administrations, dispense = administer(doses, form, end_day - start_day + 1)
        steps.append(
            make_step(
                index, start_day, end_day=end_day, start_date=start_date, unit=DoseUnit.MG,
                administrations=administrations, dispense=dispense,
            )
        )  # fmt: skip
    return tuple(steps)
