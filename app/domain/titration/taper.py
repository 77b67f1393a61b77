"""Oral taper (A.2 as amended by A.6.5): cuts of 25 % of the starting dose, then stop.

The cut is 25 % of the starting dose rounded down to what the formulation delivers and
repeats while the next level stays above zero, so no cut, the final stop included, exceeds
25 % of the starting dose (30 → 25 → 20 → 15 → 10 → 5 → stop; 80 → 60 → 40 → 20 → stop).
Each level lasts max(3, ceil(taper_min_days / levels)) days. The same algorithm serves the
pre-delivery taper (R-STOP-5) and the oral wean after intrathecal therapy starts (R-IT-T);
only the stop milestone differs.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from app.domain.titration.age import Age
from app.domain.titration.draft import Draft, FindingCode
from app.domain.titration.errors import (
    DoseNotDeliverableError,
    InvalidInputError,
    MissingInputError,
)
from app.domain.titration.library import ProtocolSet
from app.domain.titration.model import PlanRequest, Setting, TaperReason
from app.domain.titration.oral_doses import (
    DoseForm,
    adjusted_finding,
    choose_form,
    divide_levels,
    lay_out,
    levels_by_rules,
    no_stock_finding,
    solution_finding,
    stock_findings,
)
from app.domain.titration.plan import Limits, MilestoneKind, RenalAssessment
from app.domain.titration.protocol import Protocol
from app.domain.titration.regimen import OralRegimen, derive_regimen, dose_count_rule
from app.domain.titration.steps import milestone_on
from app.domain.titration.units import (
    Dose,
    DoseUnit,
    plain_number,
    require_unit,
    round_to_strength,
)

WITHDRAWAL_WATCH = (
    "Watch for withdrawal for several days (hallucinations, seizures, fever, confusion, "
    "rebound spasticity)."
)
STOP_TEXT = {
    TaperReason.GENERAL: "Stop: the taper is complete (R-STOP-4). " + WITHDRAWAL_WATCH,
    TaperReason.NO_BENEFIT: "Stop: no-benefit taper complete (R-OA-10, R-STOP-4). "
    + WITHDRAWAL_WATCH,
    TaperReason.PRE_DELIVERY: (
        "Stop before delivery (R-STOP-5): this date must fall before the expected delivery. "
        "If the taper cannot be completed, inform the parents and the neonatal team (neonatal "
        "withdrawal: increased tone, tremor, jitteriness, seizures)."
    ),
    TaperReason.ITB_TRANSITION: (
        "Oral baclofen stopped after intrathecal delivery began (R-IT-T): assess within 24 h "
        "of each change, keep oral baclofen available for withdrawal, then taper the next oral "
        "antispasmodic."
    ),
}


def draft_oral_taper(
    request: PlanRequest, age: Age, renal: RenalAssessment, protocols: ProtocolSet
) -> Draft:
    """Taper from ``current_daily_dose`` (mg) to a stop milestone (A.6.5, A.6.6)."""
    current = _current_dose(request)
    taper = protocols.oral_taper
    min_days = _min_days(request, taper)
    fraction = taper.decimal("step_fraction")
    regimen = derive_regimen(age, request.patient.weight_kg, renal.band, protocols)
    child = regimen.per_dose_steps
    # A level above what four single-dose maxima give is only ever lowered (CHOICES.md).
    rule = dose_count_rule(regimen.max_single, child=child, protocols=protocols, taper=True)

    def levels_at(at: DoseForm) -> tuple[list[tuple[Decimal, ...]], list[int]]:
        cut = round_to_strength(fraction * current, at.step)
        # The cut repeats while the next level stays above zero, so the final stop is ≤ it.
        dailies = []
        level = current - cut
        while level > 0:
            dailies.append(level)
            level -= cut
        return divide_levels(dailies, request.doses_per_day, rule, at, round_down=False)

    form, solution_imposed = choose_form(
        request.formulation, weight_kg=request.patient.weight_kg, child=child,
        protocols=protocols,
        usable=lambda candidate: _is_taperable(current, fraction, candidate)
        and _stock_divides(candidate, levels_at),
    )  # fmt: skip
    refs = (taper.ref, protocols.formulations.ref, protocols.formulary.ref)
    limits = Limits(Dose(current, DoseUnit.MG), Dose(Decimal(0), DoseUnit.MG))
    if form is None:
        return Draft((), (), limits, (no_stock_finding(current),), refs)
    levels, adjusted = levels_at(form)
    stock = stock_findings(levels, levels_by_rules(form, lambda at: levels_at(at)[0]))
    level_days = max(taper.integer("min_level_days"), -(-min_days // len(levels)))
    steps = lay_out(
        levels, level_days=level_days, last_until_day=0, start_date=request.start_date,
        form=form, child_weight_kg=request.patient.weight_kg if child else None,
    )  # fmt: skip
    stop_text = STOP_TEXT[_reason(request)]
    return Draft(
        steps=steps,
        milestones=(
            milestone_on(request.start_date, steps[-1].end_day + 1, MilestoneKind.STOP, stop_text),
        ),
        limits=limits,
        findings=(
            *_taper_findings(request, current, regimen, min_days, taper),
            *adjusted_finding(adjusted),
            *stock,
            *((solution_finding(form),) if solution_imposed else ()),
        ),
        protocols=refs,
    )


def _min_days(request: PlanRequest, taper: Protocol) -> int:
    """``taper_min_days`` within its allowed range, else the protocol's default (A.6.5)."""
    if request.taper_min_days is None:
        return taper.integer("min_total_days")
    lowest = taper.integer("min_total_days_lowest")
    highest = taper.integer("min_total_days_highest")
    if not lowest <= request.taper_min_days <= highest:
        raise InvalidInputError(
            f"The taper takes {lowest} to {highest} days.", field="taper_min_days"
        )
    return request.taper_min_days


def _taper_findings(
    request: PlanRequest, current: Decimal, regimen: OralRegimen, min_days: int, taper: Protocol
) -> tuple[FindingCode, ...]:
    findings = []
    if min_days < taper.integer("min_total_days"):
        findings.append(FindingCode("short_taper", f"Taper over {min_days} days."))
    cap = regimen.inpatient_cap if request.setting is Setting.INPATIENT else regimen.cap
    if current > cap:
        detail = f"Current dose {plain_number(current)} mg/day; maximum {plain_number(cap)} mg/day."
        findings.append(FindingCode("current_dose_above_maximum", detail))
    return tuple(findings)


def _current_dose(request: PlanRequest) -> Decimal:
    if request.current_daily_dose is None:
        raise MissingInputError("A taper needs the current daily dose.", field="current_daily_dose")
    current = require_unit(request.current_daily_dose, DoseUnit.MG, field="current_daily_dose")
    if current.value <= 0:
        raise InvalidInputError(
            "The current daily dose must be above 0 mg.", field="current_daily_dose"
        )
    return current.value


def _is_taperable(current: Decimal, fraction: Decimal, form: DoseForm) -> bool:
    """The form must deliver the current dose exactly and a non-zero 25 % cut."""
    return form.delivers(current) and round_to_strength(fraction * current, form.step) >= form.step


def _stock_divides(form: DoseForm, levels_at: Callable[[DoseForm], object]) -> bool:
    """Coarse stock must divide every level as it is: a taper level is never rounded down,
    which would make a cut above 25 % of the start (A.6.5). Today's stock is not re-checked."""
    if form.rules_step is None:
        return True
    try:
        levels_at(form)
    except DoseNotDeliverableError:
        return False
    return True


def _reason(request: PlanRequest) -> TaperReason:
    if request.taper_reason is not None:
        return request.taper_reason
    return TaperReason.PRE_DELIVERY if request.patient.pregnant else TaperReason.GENERAL
