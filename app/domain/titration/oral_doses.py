"""Turning an oral daily dose into single doses a formulation can deliver (A.1).

Every single dose is rounded down to the formulation's granularity; an uneven split puts
the extra units on the evening dose first (R-OA §2 PROPOSAL, order from the protocol);
the daily dose is the exact sum of the planned single doses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from functools import lru_cache

from app.domain.titration.draft import FindingCode
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
from app.domain.titration.steps import remembered_step
from app.domain.titration.units import Dose, DoseUnit, round_to_strength, round_up_to_strength

_HUNDREDTH = Decimal("0.01")

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
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Hashed on every cached step look-up below: computed once (a value never changes).
        fields = (self.formulation, self.step, self.tablet_strengths, self.scored_strengths)
        object.__setattr__(self, "_hash", hash((*fields, self.mg_per_ml)))

    def __hash__(self) -> int:
        return self._hash

    def delivers(self, amount: Decimal) -> bool:
        """True when ``amount`` is a positive whole multiple of the increment."""
        return amount >= self.step and round_to_strength(amount, self.step) == amount


def tablet_form(formulations: Protocol) -> DoseForm:
    """Tablet library; halves only of scored tablets (5 mg granularity by default)."""
    return formulations.derived.get("tablet_form", lambda: _tablet_form(formulations))


def _tablet_form(formulations: Protocol) -> DoseForm:
    strengths = formulations.decimal_lists["tablet_strengths_mg"]
    scored = formulations.decimal_lists["scored_tablet_strengths_mg"]
    step = min(strength / 2 if strength in scored else strength for strength in strengths)
    return DoseForm(Formulation.TABLET, step, strengths, scored)


def solution_form(formulations: Protocol, *, child: bool) -> DoseForm:
    """1 mg/mL solution: 0.1 mg steps for children, 0.5 mg for adults (§11 rounding)."""
    return formulations.derived.get(
        ("solution_form", child), lambda: _solution_form(formulations, child=child)
    )


def _solution_form(formulations: Protocol, *, child: bool) -> DoseForm:
    step_name = "solution_step_child_mg" if child else "solution_step_adult_mg"
    return DoseForm(
        Formulation.ORAL_SOLUTION,
        formulations.decimal(step_name),
        mg_per_ml=formulations.decimal("solution_mg_per_ml"),
    )


@dataclass(frozen=True, slots=True)
class DoseCountRule:
    """How many doses a day a step may take (A.6.1, A.6.2, R-OA-7).

    The population's count is ``count_up_to`` up to ``threshold`` mg/day and ``count_above``
    above it (adults 3 and 4 around 60; children 4, no threshold); ``max_single`` is the
    single-dose maximum; one or two doses a day only while the daily dose is at most
    ``few_doses_max_daily``.
    """

    count_up_to: int
    threshold: Decimal | None
    count_above: int
    max_count: int
    max_single: Decimal
    few_doses_max_daily: Decimal
    priority: tuple[str, ...]
    lowering_only: bool = False
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        counts = (self.count_up_to, self.threshold, self.count_above, self.max_count)
        limits = (self.max_single, self.few_doses_max_daily, self.priority, self.lowering_only)
        object.__setattr__(self, "_hash", hash((*counts, *limits)))

    def __hash__(self) -> int:
        return self._hash

    def single_limit(self, daily: Decimal, form: DoseForm) -> Decimal:
        """The single-dose maximum for ``daily``; a taper level above what the most doses of
        the maximum give takes its doses as even as possible (it only lowers them)."""
        if self.lowering_only:
            return max(self.max_single, round_up_to_strength(daily / self.max_count, form.step))
        return self.max_single

    def default(self, daily: Decimal) -> int:
        if self.threshold is not None and daily > self.threshold:
            return self.count_above
        return self.count_up_to


@dataclass(frozen=True, slots=True)
class Division:
    """The single doses of one step and whether a prescriber's count was set aside."""

    doses: tuple[Decimal, ...]
    adjusted: bool


@lru_cache(maxsize=4096)
def divide(daily: Decimal, requested: int | None, rule: DoseCountRule, form: DoseForm) -> Division:
    """Decide this step's dose count afresh (never carried from an earlier step, A.6.1).

    Without a request: the largest count up to the population's at which every dose is
    deliverable and within the single-dose maximum. A requested count is honoured only where
    it is safe; otherwise the smallest larger count that is, else the largest smaller one
    (A.6.2). Raises ``DoseNotDeliverableError`` when no count can give the dose.

    Cached: a pure function of immutable values, and plans share their levels (15, 30, 45 mg).
    """
    limit = rule.single_limit(daily, form)
    if requested is not None:
        for count in range(requested, rule.max_count + 1):
            doses = split_daily(daily, count, form, rule.priority)
            if _safe(doses, limit, rule, form):
                return Division(doses, adjusted=count != requested)
    for count in range(rule.default(daily), 0, -1):
        doses = split_daily(daily, count, form, rule.priority)
        if _safe(doses, limit, rule, form):
            return Division(doses, adjusted=requested is not None)
    raise DoseNotDeliverableError(
        f"{daily} mg/day cannot be given in at most {rule.max_count} doses of at most "
        f"{rule.max_single} mg."
    )


def divide_levels(
    dailies: Sequence[Decimal], requested: int | None, rule: DoseCountRule, form: DoseForm
) -> tuple[list[tuple[Decimal, ...]], list[int]]:
    """Single doses of each level, the count decided per level (A.6.1); consecutive levels
    that come out equal are merged. Returns the levels and the indices where a requested
    count was set aside (A.6.2)."""
    levels: list[tuple[Decimal, ...]] = []
    adjusted: list[int] = []
    for daily in dailies:
        division = divide(daily, requested, rule, form)
        if levels and sum(division.doses) == sum(levels[-1]):
            continue
        if division.adjusted:
            adjusted.append(len(levels))
        levels.append(division.doses)
    return levels, adjusted


def adjusted_finding(adjusted: Sequence[int]) -> tuple[FindingCode, ...]:
    """``doses_per_day_adjusted`` naming the steps (1-based) where the request was set aside."""
    if not adjusted:
        return ()
    steps = ", ".join(str(index + 1) for index in adjusted)
    return (FindingCode("doses_per_day_adjusted", f"Steps: {steps}."),)


def _safe(doses: tuple[Decimal, ...], limit: Decimal, rule: DoseCountRule, form: DoseForm) -> bool:
    return (
        min(doses) >= form.step
        and max(doses) <= limit
        and (len(doses) > 2 or sum(doses) <= rule.few_doses_max_daily)
    )


def split_daily(
    daily: Decimal, count: int, form: DoseForm, priority: Sequence[str]
) -> tuple[Decimal, ...]:
    """Split ``daily`` into ``count`` doses rounded down; leftover units go by ``priority``."""
    step = form.step
    base = round_to_strength(daily / count, step)
    leftover_units = int((daily - base * count) / step)
    if not leftover_units:
        return (base,) * count
    favoured = _priority_order(count, tuple(priority))[:leftover_units]
    return tuple(base + step if time in favoured else base for time in DOSE_TIMES[count])


@lru_cache(maxsize=64)
def _priority_order(count: int, priority: tuple[str, ...]) -> tuple[TimeOfDay, ...]:
    """The times of ``count`` doses in the order leftover units go to them."""
    times = DOSE_TIMES[count]
    return tuple(time for name in priority for time in times if time.value == name)


def administer(
    doses: tuple[Decimal, ...], form: DoseForm, days: int, used: set[Decimal]
) -> tuple[tuple[Administration, ...], tuple[DispenseLine, ...]]:
    """Administrations with their preparation, and what ``days`` days take (exact, A.6.3).

    ``used`` holds the tablet strengths the plan already uses; it grows as steps are laid out.
    """
    if form.mg_per_ml is None:
        return _tablets(doses, form, days, used)
    return _solution_supply(doses, form, days, form.mg_per_ml)


@lru_cache(maxsize=4096)
def _solution_supply(
    doses: tuple[Decimal, ...], form: DoseForm, days: int, mg_per_ml: Decimal
) -> tuple[tuple[Administration, ...], tuple[DispenseLine, ...]]:
    """One step's doses of the oral solution and the mL that ``days`` days take (shared)."""
    times = DOSE_TIMES[len(doses)]
    administrations = tuple(
        _solution_administration(time, dose, mg_per_ml)
        for time, dose in zip(times, doses, strict=True)
    )
    volume = sum(doses, Decimal(0)) / mg_per_ml * days
    concentration = Concentration(mg_per_ml, DoseUnit.MG)
    return administrations, (
        DispenseLine(PreparationForm.ORAL_SOLUTION, volume, "mL", concentration=concentration),
    )


def _tablets(
    doses: tuple[Decimal, ...], form: DoseForm, days: int, used: set[Decimal]
) -> tuple[tuple[Administration, ...], tuple[DispenseLine, ...]]:
    administrations, dispense, strengths = _tablet_supply(doses, form, days, frozenset(used))
    used.update(strengths)
    return administrations, dispense


@lru_cache(maxsize=4096)
def _tablet_supply(
    doses: tuple[Decimal, ...], form: DoseForm, days: int, used: frozenset[Decimal]
) -> tuple[tuple[Administration, ...], tuple[DispenseLine, ...], tuple[Decimal, ...]]:
    """One step's administrations, what ``days`` days take, and the strengths it uses."""
    administrations, per_day = _tablet_step(doses, form, used)
    # Halves are counted as halves here; the plan's total is rounded up per strength (A.6.3).
    dispense = tuple(
        DispenseLine(
            PreparationForm.TABLET, count * days, "tablet",
            tablet_strength=Dose(strength, DoseUnit.MG),
        )
        for strength, count in per_day
    )  # fmt: skip
    return administrations, dispense, tuple(strength for strength, _ in per_day)


@lru_cache(maxsize=1024)
def _tablet_step(
    doses: tuple[Decimal, ...], form: DoseForm, used: frozenset[Decimal]
) -> tuple[tuple[Administration, ...], tuple[tuple[Decimal, Decimal], ...]]:
    """One step's tablet doses (immutable values, so equal steps share one) and the tablets
    a day per strength, in strength order. Each dose sees the strengths chosen before it."""
    chosen = set(used)
    administrations = []
    per_day: dict[Decimal, Decimal] = {}
    for time, dose in zip(DOSE_TIMES[len(doses)], doses, strict=True):
        strength = _strength_for(dose, form, frozenset(chosen))
        chosen.add(strength)
        tablets = dose / strength
        per_day[strength] = per_day.get(strength, Decimal(0)) + tablets
        preparation = Preparation(PreparationForm.TABLET, Dose(strength, DoseUnit.MG), tablets)
        administrations.append(Administration(time, Dose(dose, DoseUnit.MG), preparation))
    return tuple(administrations), tuple(sorted(per_day.items()))


@lru_cache(maxsize=1024)
def _solution_administration(time: TimeOfDay, dose: Decimal, mg_per_ml: Decimal) -> Administration:
    """One dose of the oral solution in mL with its concentration (immutable, shared)."""
    preparation = Preparation(
        PreparationForm.ORAL_SOLUTION,
        concentration=Concentration(mg_per_ml, DoseUnit.MG),
        volume_ml=dose / mg_per_ml,
    )
    return Administration(time, Dose(dose, DoseUnit.MG), preparation)


def choose_strength(dose: Decimal, form: DoseForm, used: set[Decimal]) -> Decimal:
    """One strength for one dose (A.6.3): the fewest pieces (a half is one piece), then whole
    tablets before halves, then a strength the plan already uses, then the smaller strength.

    A candidate always exists: every dose is a multiple of the increment, which is a whole or
    half of a strength.
    """
    return _strength_for(dose, form, frozenset(used))


@lru_cache(maxsize=1024)
def _strength_for(dose: Decimal, form: DoseForm, used: frozenset[Decimal]) -> Decimal:
    candidates = []
    for strength in form.tablet_strengths:
        count = dose / strength
        whole = count == count.to_integral_value()
        half = strength in form.scored_strengths and (2 * count) == (2 * count).to_integral_value()
        if whole or half:
            pieces = count.to_integral_value(rounding=ROUND_CEILING)
            candidates.append((pieces, not whole, strength not in used, strength))
    return min(candidates)[3]


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
    child_weight_kg: Decimal | None = None,
) -> tuple[Step, ...]:
    """Contiguous steps of ``level_days`` each; the last runs at least to ``last_until_day``.

    A child's steps carry mg/kg/day (A.6.11) when ``child_weight_kg`` is given.
    """
    steps = []
    used: set[Decimal] = set()
    for index, doses in enumerate(levels, start=1):
        start_day = 1 + (index - 1) * level_days
        end_day = start_day + level_days - 1
        if index == len(levels):
            end_day = max(end_day, last_until_day)
        administrations, dispense = administer(doses, form, end_day - start_day + 1, used)
        per_kg = None
        if child_weight_kg is not None:
            per_kg = mg_per_kg(sum(doses, Decimal(0)), child_weight_kg)
        steps.append(
            remembered_step(
                index, start_day, end_day=end_day, start_date=start_date, unit=DoseUnit.MG,
                administrations=administrations, dispense=dispense, mg_per_kg_day=per_kg,
            )
        )  # fmt: skip
    return tuple(steps)


def mg_per_kg(daily: Decimal, weight_kg: Decimal) -> Decimal:
    """mg/kg/day shown to two decimals, rounded half-up (display only; doses stay exact)."""
    return (daily / weight_kg).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)
