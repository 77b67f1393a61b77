"""Turning an oral daily dose into single doses a formulation can deliver (A.1).

Every single dose is rounded down to the formulation's granularity; an uneven split puts
the extra units on the evening dose first (R-OA §2 PROPOSAL, order from the protocol);
the daily dose is the exact sum of the planned single doses. What can be given comes from
the clinic's formulary (stocked strengths, which are scored, the oral solutions); how finely
doses are rounded comes from the rules (``formulations``, §11).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from functools import lru_cache

from app.domain.titration.draft import FindingCode
from app.domain.titration.errors import DoseNotDeliverableError
from app.domain.titration.library import ProtocolSet
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
from app.domain.titration.units import (
    Dose,
    DoseUnit,
    plain_number,
    round_to_strength,
    round_up_to_strength,
)

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
    """A formulation and the smallest single-dose increment it delivers (mg).

    ``rules_step`` is set when the stock is coarser than the rules' rounding (§11): the
    increment the rules would have used, to tell the prescriber what the stock changed.
    """

    formulation: Formulation
    step: Decimal
    tablet_strengths: tuple[Decimal, ...] = ()
    scored_strengths: tuple[Decimal, ...] = ()
    mg_per_ml: Decimal | None = None
    rules_step: Decimal | None = None
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Hashed on every cached step look-up below: computed once (a value never changes).
        fields = (self.formulation, self.step, self.tablet_strengths, self.scored_strengths)
        object.__setattr__(self, "_hash", hash((*fields, self.mg_per_ml, self.rules_step)))

    def __hash__(self) -> int:
        return self._hash

    def delivers(self, amount: Decimal) -> bool:
        """True when ``amount`` is a positive whole multiple of the increment."""
        return amount >= self.step and round_to_strength(amount, self.step) == amount

    def at_rules_step(self) -> DoseForm | None:
        """The same form at the rules' rounding, when the stock made it coarser."""
        if self.rules_step is None:
            return None
        return replace(self, step=self.rules_step, rules_step=None)


def tablet_form(formulations: Protocol, formulary: Protocol) -> DoseForm:
    """The stocked tablets; halves only of scored ones (made once per pair of protocols: the
    key names the rules by their content hash, so another ``formulations`` makes its own)."""
    key = ("tablet_form", formulations.ref)
    return formulary.derived.get(key, lambda: _tablet_form(formulations, formulary))


def _tablet_form(formulations: Protocol, formulary: Protocol) -> DoseForm:
    """The stocked tablets; halves only of scored ones.

    Doses are whole multiples of the rules' tablet rounding (5 mg, §11) when the stock's
    smallest piece divides it, else of the smallest multiple of that piece above it (only
    10 mg unscored: 10 mg), so every multiple is one strength's whole or half tablets.
    """
    strengths = formulary.decimal_lists["tablet_strengths_mg"]
    scored = formulary.decimal_lists["scored_tablet_strengths_mg"]
    piece = min(strength / 2 if strength in scored else strength for strength in strengths)
    rules = formulations.decimal("tablet_step_mg")
    step = piece * (rules / piece).to_integral_value(rounding=ROUND_CEILING)
    coarser = None if step == rules else rules
    return DoseForm(Formulation.TABLET, step, strengths, scored, rules_step=coarser)


def solution_form(formulations: Protocol, formulary: Protocol, *, child: bool) -> DoseForm | None:
    """The stocked oral solution, if any (made once per pair of protocols, as tablet_form)."""
    key = ("solution_form", formulations.ref, child)
    return formulary.derived.get(key, lambda: _solution_form(formulations, formulary, child=child))


def _solution_form(formulations: Protocol, formulary: Protocol, *, child: bool) -> DoseForm | None:
    """The stocked oral solution, if any: 0.1 mg steps for children, 0.5 mg for adults (§11).

    Of several stocked concentrations the most dilute is used: the finest to measure and the
    one that cannot be a five-fold overdose of another (§13 concentration confusion).
    """
    concentrations = formulary.decimal_lists["oral_solution_mg_per_ml"]
    if not concentrations:
        return None
    step_name = "solution_step_child_mg" if child else "solution_step_adult_mg"
    return DoseForm(
        Formulation.ORAL_SOLUTION, formulations.decimal(step_name), mg_per_ml=min(concentrations)
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
def divide(
    daily: Decimal,
    requested: int | None,
    rule: DoseCountRule,
    form: DoseForm,
    *,
    round_down: bool = True,
) -> Division:
    """Decide this step's dose count afresh (never carried from an earlier step, A.6.1).

    Without a request: the largest count up to the population's at which every dose is
    deliverable and within the single-dose maximum. A requested count is honoured only where
    it is safe; otherwise the smallest larger count that is, else the largest smaller one
    (A.6.2). Raises ``DoseNotDeliverableError`` when no count can give the dose.

    Cached: a pure function of immutable values, and plans share their levels (15, 30, 45 mg).
    """
    division = _division(daily, requested, rule, form)
    # Stock coarser than the rules (only 10 mg unscored): a level it cannot divide safely
    # (20 mg/day would be twice 10 mg, A.6.2) is rounded down to one it can (A.1).
    lower = daily - form.step
    while division is None and round_down and form.rules_step is not None and lower >= form.step:
        division, lower = _division(lower, requested, rule, form), lower - form.step
    if division is not None:
        return division
    raise DoseNotDeliverableError(
        f"{daily} mg/day cannot be given in at most {rule.max_count} doses of at most "
        f"{rule.max_single} mg."
    )


def _division(
    daily: Decimal, requested: int | None, rule: DoseCountRule, form: DoseForm
) -> Division | None:
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
    return None


def divide_levels(
    dailies: Sequence[Decimal],
    requested: int | None,
    rule: DoseCountRule,
    form: DoseForm,
    *,
    round_down: bool = True,
) -> tuple[list[tuple[Decimal, ...]], list[int]]:
    """Single doses of each level, the count decided per level (A.6.1); consecutive levels
    that come out equal are merged. Returns the levels and the indices where a requested
    count was set aside (A.6.2)."""
    levels: list[tuple[Decimal, ...]] = []
    adjusted: list[int] = []
    for daily in dailies:
        division = divide(daily, requested, rule, form, round_down=round_down)
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
    protocols: ProtocolSet,
    usable: Callable[[DoseForm], bool],
) -> tuple[DoseForm | None, bool]:
    """Tablets unless under 33 kg or the doses cannot be given with tablets (A.1, R-PED-8).

    Returns the form and whether the solution was imposed by the rules (``solution_only``);
    no form when nothing stocked can deliver doses the rules' rounding could (the caller says
    so with a block); ``DoseNotDeliverableError`` when no formulation could (as before).
    """
    formulations, formulary = protocols.formulations, protocols.formulary
    solution = solution_form(formulations, formulary, child=child)
    if requested is not Formulation.ORAL_SOLUTION:
        tablets = tablet_form(formulations, formulary)
        min_weight = formulations.decimal("tablet_min_weight_kg")
        if (weight_kg is None or weight_kg >= min_weight) and usable(tablets):
            return tablets, False
    if solution is not None and usable(solution):
        return solution, requested is not Formulation.ORAL_SOLUTION
    # The rules' own rounding (1 mg/mL solution) could give it: the stock is what fails.
    step_name = "solution_step_child_mg" if child else "solution_step_adult_mg"
    if usable(DoseForm(Formulation.ORAL_SOLUTION, formulations.decimal(step_name))):
        return None, False
    raise DoseNotDeliverableError("No formulation in the library can deliver these doses.")


def stock_findings(
    stocked: Sequence[tuple[Decimal, ...]], by_rules: Sequence[tuple[Decimal, ...]] | None
) -> tuple[FindingCode, ...]:
    """``formulary_changes_doses`` when the stocked tablets give other single doses than the
    rules' rounding would (fewer or smaller), naming the first step that differs."""
    if by_rules is None or list(stocked) == list(by_rules):
        return ()
    if not by_rules:  # the rules' rounding gave no plan to compare with
        return (FindingCode("formulary_changes_doses"),)
    index = next(
        (i for i, pair in enumerate(zip(stocked, by_rules, strict=False)) if pair[0] != pair[1]),
        min(len(stocked), len(by_rules)),
    )
    wanted = _dose_list(by_rules[index]) if index < len(by_rules) else "no step"
    given = _dose_list(stocked[index]) if index < len(stocked) else "no step"
    detail = f"Step {index + 1}: the protocol gives {wanted}; the stock gives {given}."
    return (FindingCode("formulary_changes_doses", detail),)


def levels_by_rules(
    form: DoseForm, levels_at: Callable[[DoseForm], Sequence[tuple[Decimal, ...]]]
) -> Sequence[tuple[Decimal, ...]] | None:
    """The levels at the rules' rounding when the stock is coarser (else None, no cost);
    empty when the rules' rounding cannot divide them."""
    rules_form = form.at_rules_step()
    if rules_form is None:
        return None
    try:
        return levels_at(rules_form)
    except DoseNotDeliverableError:
        return ()


def _dose_list(doses: tuple[Decimal, ...]) -> str:
    return " + ".join(plain_number(dose) for dose in doses) + " mg"


def solution_finding(form: DoseForm) -> FindingCode:
    """``solution_only`` naming the stocked concentration the volumes are written for (§13:
    a volume read against another concentration is a several-fold error)."""
    mg_per_ml = form.mg_per_ml
    assert mg_per_ml is not None  # nosec B101: a solution form has its concentration
    per_5_ml = plain_number(mg_per_ml * 5)
    return FindingCode(
        "solution_only", f"Concentration: {plain_number(mg_per_ml)} mg/mL ({per_5_ml} mg/5 mL)."
    )


def no_stock_finding(lowest: Decimal) -> FindingCode:
    """``no_stocked_formulation``: the plan is blocked, nothing is rounded to a guess."""
    return FindingCode(
        "no_stocked_formulation",
        f"Smallest dose needed: {plain_number(lowest)} mg/day.",
    )


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
