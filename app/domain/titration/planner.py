"""The engine's entry point: one request, one plan (pure and deterministic)."""

from __future__ import annotations

from dataclasses import replace

from app.domain.titration.age import Age
from app.domain.titration.draft import Draft
from app.domain.titration.findings import Finding, Route, Severity
from app.domain.titration.itb import draft_itb_screening, draft_itb_titration
from app.domain.titration.library import ENGINE_VERSION, ProtocolSet
from app.domain.titration.model import PlanRequest, PlanType
from app.domain.titration.oral_titration import draft_oral_titration
from app.domain.titration.overrides import apply_overrides
from app.domain.titration.plan import Plan, PlanStatus, RenalAssessment, RenalBand
from app.domain.titration.protocol import ProtocolRef
from app.domain.titration.renal import assess_renal, is_end_stage
from app.domain.titration.safety import ScreeningFacts, screen, severity_first
from app.domain.titration.taper import draft_oral_taper
from app.domain.titration.units import DoseUnit
from app.domain.titration.validation import patient_age, validate_request

ORAL_PLANS = (PlanType.ORAL_TITRATION, PlanType.ORAL_TAPER)
# Blocks a taper keeps: its own, and a plan nothing stocked can give (there are no steps).
TAPER_BLOCKS = frozenset({"short_taper", "no_stocked_formulation"})


def build_plan(request: PlanRequest, protocols: ProtocolSet) -> Plan:
    """Compute the plan for ``request`` against ``protocols``.

    Safety findings are part of the plan; a block finding that is not overridden gives a
    ``blocked`` plan with no steps. Raises a ``TitrationError`` when no valid plan can be
    produced (invalid or missing input, wrong unit, target above a hard limit, bad override).
    """
    validate_request(request, max_doses_per_day=protocols.oral_adult.integer("max_doses_per_day"))
    age = patient_age(request)
    renal = assess_renal(
        request.patient, age,
        adult_age_years=protocols.oral_adult.integer("adult_age_years"), renal=protocols.oral_renal,
    )  # fmt: skip
    route = Route.ORAL if request.plan_type in ORAL_PLANS else Route.INTRATHECAL
    # A.6.10: end-stage renal disease without dialysis is dosed as the dialysis row.
    dosing_renal = (
        replace(renal, band=RenalBand.DIALYSIS) if is_end_stage(renal, protocols.oral_renal)
        else renal
    )  # fmt: skip
    draft = _draft(request, age, dosing_renal, protocols)
    findings = screen(request, ScreeningFacts(age, renal, route), protocols, draft.findings)
    if request.plan_type is PlanType.ORAL_TAPER:
        findings = never_block_a_taper(findings)
    status, applied = apply_overrides(findings, request.overrides)
    ready = status is PlanStatus.READY
    refs = _plan_refs(draft.protocols, protocols)
    return Plan(
        status=status,
        plan_type=request.plan_type,
        route=route,
        unit=DoseUnit.MG if route is Route.ORAL else DoseUnit.MCG,
        protocol=draft.protocols[0],
        protocols=refs,
        engine_version=ENGINE_VERSION,
        renal=renal,
        limits=draft.limits,
        steps=draft.steps if ready else (),
        dispense=draft.dispense if ready else (),
        milestones=draft.milestones if ready else (),
        findings=findings,
        overrides=applied,
    )


def _draft(request: PlanRequest, age: Age, renal: RenalAssessment, protocols: ProtocolSet) -> Draft:
    if request.plan_type is PlanType.ORAL_TITRATION:
        return draft_oral_titration(request, age, renal, protocols)
    if request.plan_type is PlanType.ORAL_TAPER:
        return draft_oral_taper(request, age, renal, protocols)
    if request.plan_type is PlanType.ITB_SCREENING:
        return draft_itb_screening(request, age, protocols)
    return draft_itb_titration(request, age, protocols)


def never_block_a_taper(findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
    """A.6.6: reducing the dose is the safe action, so in a taper every finding that would
    block a titration is ``major`` (acknowledged on saving); only the taper's own blocks
    (``short_taper``) still need an override."""
    demoted = [
        replace(finding, severity=Severity.MAJOR, overridable=False)
        if finding.severity is Severity.BLOCK and finding.code not in TAPER_BLOCKS
        else finding
        for finding in findings
    ]
    return tuple(sorted(demoted, key=severity_first))


def _plan_refs(drafted: tuple[ProtocolRef, ...], protocols: ProtocolSet) -> tuple[ProtocolRef, ...]:
    """The draft's protocols first, then every other protocol of the set, each once.

    Remembered per combination. The draft's refs are objects of ``protocols`` itself, so their
    identities (cheaper to hash than the refs) name the combination; the remembered refs are
    used only when they were made from equal refs.
    """
    made_from, refs = protocols.derived.remember(
        ("plan_refs", *map(id, drafted)),
        lambda: (drafted, tuple(dict.fromkeys((*drafted, *protocols.refs)))),
    )
    return refs if made_from == drafted else tuple(dict.fromkeys((*drafted, *protocols.refs)))
