"""Oral taper (A.2, R-STOP-4): three levels, each 25 % of the starting dose lower, then stop.

The cut is rounded down to what the formulation delivers, so no level cuts more than 25 %
of the starting dose; each level lasts max(3, ceil(14 / levels)) days (80 → 60 → 40 → 20 →
stop on day 16). The same algorithm serves the pre-delivery taper (R-STOP-5) and the
oral wean after intrathecal therapy starts (R-IT-T); only the stop milestone differs.
"""

from __future__ import annotations

from decimal import Decimal

from app.domain.titration.age import Age
from app.domain.titration.draft import Draft, FindingCode
from app.domain.titration.errors import InvalidInputError, MissingInputError
from app.domain.titration.library import ProtocolSet
from app.domain.titration.model import PlanRequest, TaperReason
from app.domain.titration.oral_doses import (
    DoseForm,
    choose_form,
    fit_dose_count,
    lay_out,
    split_daily,
)
from app.domain.titration.plan import Limits, MilestoneKind
from app.domain.titration.regimen import preferred_dose_count
from app.domain.titration.steps import milestone_on
from app.domain.titration.units import Dose, DoseUnit, require_unit, round_to_strength

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


def draft_oral_taper(request: PlanRequest, age: Age, protocols: ProtocolSet) -> Draft:
    """Taper from ``current_daily_dose`` (mg) to a stop milestone."""
    current = _current_dose(request)
    taper = protocols.oral_taper
    fraction = taper.decimal("step_fraction")
    child = age.is_under(protocols.oral_adult.integer("adult_age_years"))
    form, solution_imposed = choose_form(
        request.formulation, weight_kg=request.patient.weight_kg, child=child,
        formulations=protocols.formulations,
        usable=lambda candidate: _is_taperable(current, fraction, candidate),
    )  # fmt: skip
    cut = round_to_strength(fraction * current, form.step)
    level_count = taper.integer("levels")
    level_days = max(
        taper.integer("min_level_days"), -(-taper.integer("min_total_days") // level_count)
    )
    levels = [
        _split(current - level * cut, request, child=child, form=form, protocols=protocols)
        for level in range(1, level_count + 1)
    ]
    steps = lay_out(
        levels, level_days=level_days, last_until_day=0, start_date=request.start_date, form=form
    )
    stop_text = STOP_TEXT[_reason(request)]
    return Draft(
        steps=steps,
        milestones=(
            milestone_on(request.start_date, steps[-1].end_day + 1, MilestoneKind.STOP, stop_text),
        ),
        limits=Limits(Dose(current, DoseUnit.MG), Dose(Decimal(0), DoseUnit.MG)),
        findings=(FindingCode("solution_only"),) if solution_imposed else (),
        protocols=(taper.ref, protocols.formulations.ref),
    )


def _current_dose(request: PlanRequest) -> Decimal:
    if request.current_daily_dose is None:
        raise MissingInputError("A taper needs the current daily dose.", field="current_daily_dose")
    current = require_unit(request.current_daily_dose, DoseUnit.MG, field="current_daily_dose")
    if current.value <= 0:
        raise InvalidInputError(
            "The current daily dose must be above 0 mg.", field="current_daily_dose"
        )
    return current.value


def _split(
    daily: Decimal, request: PlanRequest, *, child: bool, form: DoseForm, protocols: ProtocolSet
) -> tuple[Decimal, ...]:
    preferred = preferred_dose_count(daily, request.doses_per_day, child=child, protocols=protocols)
    priority = protocols.oral_adult.text_lists["remainder_priority"]
    return split_daily(daily, fit_dose_count(daily, preferred, form), form, priority)


def _is_taperable(current: Decimal, fraction: Decimal, form: DoseForm) -> bool:
    """The form must deliver the current dose exactly and a non-zero 25 % cut."""
    return form.delivers(current) and round_to_strength(fraction * current, form.step) >= form.step


def _reason(request: PlanRequest) -> TaperReason:
    if request.taper_reason is not None:
        return request.taper_reason
    return TaperReason.PRE_DELIVERY if request.patient.pregnant else TaperReason.GENERAL
