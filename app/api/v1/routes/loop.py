"""The titration loop over JSON (API.md §5.2): observations with their suggestions, acting
on a suggestion, the worklist, and the pump's recorded refills."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.api.v1.deps import (
    IfMatch,
    PlansReader,
    PlansWriter,
    ProtocolsDep,
    SessionDep,
    etag,
    parse_if_match,
)
from app.api.v1.loop_schemas import (
    DecisionOut,
    ObservationCreate,
    ObservationOut,
    PumpRefillOut,
    RefillRecordCreate,
    RefillWindowOut,
    SpasticityOut,
    SuggestionOut,
    WorkItemOut,
    WorkKind,
)
from app.api.v1.plan_mapping import stored_plan_out
from app.api.v1.plan_schemas import DoseOut, StoredPlanOut
from app.api.v1.problems import problem_responses
from app.db.models import PumpRefillRecord
from app.domain.titration.units import DoseUnit
from app.services import observations as observation_service
from app.services import refills as refill_service
from app.services import worklist as worklist_service
from app.services.observations import ObservationInput, ObservationView
from app.services.refills import RefillInput

router = APIRouter(tags=["titration loop"])


def observation_out(view: ObservationView) -> ObservationOut:
    record, suggestion, decision = view.record, view.suggestion, view.decision
    return ObservationOut(
        id=record.id, plan_id=record.plan_id, version=record.version_number,
        observed_on=record.observed_on,
        spasticity=SpasticityOut(scale="mas", score=record.mas_score)
        if record.mas_score is not None else None,
        spasm_frequency=record.spasm_frequency,
        adverse_effects=list(record.adverse_effects),
        benefit=record.benefit,
        note=record.note,
        suggestion=SuggestionOut(
            kind=suggestion.kind, rule=suggestion.rule, text=suggestion.text,
            source=suggestion.source,
        ),
        decision=DecisionOut(
            action=decision.action,
            plan_id=decision.plan_id, version=decision.version_number,
            decided_by=decision.decided_by, decided_at=decision.decided_at,
        ) if decision is not None else None,
        recorded_by=record.recorded_by, recorded_at=record.recorded_at,
    )  # fmt: skip


def refill_out(refill: PumpRefillRecord) -> PumpRefillOut:
    return PumpRefillOut(
        id=refill.id, plan_id=refill.plan_id, version=refill.version_number,
        filled_on=refill.filled_on, reservoir_ml=refill.reservoir_ml,
        alarm_volume_ml=refill.alarm_volume_ml,
        concentration_mcg_per_ml=refill.concentration_mcg_per_ml,
        max_refill_interval_days=refill.max_refill_interval_days,
        daily_dose=DoseOut(value=refill.daily_dose_mcg, unit=DoseUnit.MCG),
        alarm_date=refill.alarm_date, refill_due_date=refill.refill_due_date,
        refill_window=RefillWindowOut(start=refill.window_start, end=refill.window_end),
        recorded_by=refill.recorded_by, recorded_at=refill.recorded_at,
    )  # fmt: skip


@router.post(
    "/plans/{plan_id}/observations",
    status_code=status.HTTP_201_CREATED,
    name="api:record_observation",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def record_observation(
    plan_id: int, body: ObservationCreate, session: SessionDep, client: PlansWriter
) -> ObservationOut:
    """Record a follow-up. The answer carries the `suggestion` of the sourced follow-up rules
    (`continue`, `hold`, `step_back`, `taper` or `see_clinician`) with its rule and source."""
    data = ObservationInput(
        observed_on=body.observed_on,
        mas_score=body.spasticity.score if body.spasticity else None,
        spasm_frequency=body.spasm_frequency,
        adverse_effects=tuple(e.value for e in body.adverse_effects),
        benefit=body.benefit.value if body.benefit else None,
        note=body.note,
    )
    view = observation_service.record_observation(
        session, actor=client, plan_id=plan_id, data=data, today=date.today()
    )
    return observation_out(view)


@router.get(
    "/plans/{plan_id}/observations",
    name="api:list_observations",
    responses=problem_responses(401, 403, 404),
)
def list_observations(
    plan_id: int, session: SessionDep, client: PlansReader
) -> list[ObservationOut]:
    """Every observation of the plan, oldest first, with the step taken on each."""
    views = observation_service.list_observations(session, actor=client, plan_id=plan_id)
    return [observation_out(view) for view in views]


@router.post(
    "/plans/{plan_id}/observations/{observation_id}/act",
    status_code=status.HTTP_201_CREATED,
    name="api:act_on_observation",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
def act_on_observation(
    plan_id: int,
    observation_id: int,
    request: Request,
    response: Response,
    session: SessionDep,
    protocols: ProtocolsDep,
    client: PlansWriter,
    if_match: IfMatch = None,
) -> StoredPlanOut:
    """Take the observation's suggested step on an oral titration in one step: `step_back`
    and `hold` make a revision continuing from today at the lower (or today's) level, held;
    `taper` makes an oral taper from today's dose that completes the titration. The new
    version's reason names the observation. Needs `If-Match` with the plan's ETag; a second
    step on the same observation is a 409."""
    record, version = observation_service.act_on_observation(
        session, actor=client, protocols=protocols, plan_id=plan_id,
        observation_id=observation_id, expected_version=parse_if_match(if_match),
        today=date.today(),
    )  # fmt: skip
    response.headers["Location"] = str(request.url_for("api:show_plan", plan_id=record.id))
    response.headers["ETag"] = etag(record.current_version)
    return stored_plan_out(record, version)


@router.get("/worklist", name="api:worklist", responses=problem_responses(401, 403))
def worklist(
    session: SessionDep,
    client: PlansReader,
    within_days: Annotated[int, Query(ge=0, le=worklist_service.MAX_WITHIN_DAYS)] = (
        worklist_service.DEFAULT_WITHIN_DAYS
    ),
    kind: Annotated[list[WorkKind] | None, Query(description="Only these kinds.")] = None,
) -> list[WorkItemOut]:
    """What is due in the token's clinic up to `within_days` from today (overdue included),
    ordered by `due_date`."""
    items = worklist_service.worklist(
        session, actor=client, today=date.today(), within_days=within_days,
        kinds=tuple(kind) if kind else worklist_service.KINDS,
    )  # fmt: skip
    return [
        WorkItemOut(kind=i.kind, due_date=i.due_date, patient_id=i.patient_id,
                    plan_id=i.plan_id, text=i.text)
        for i in items
    ]  # fmt: skip


@router.post(
    "/plans/{plan_id}/refills",
    status_code=status.HTTP_201_CREATED,
    name="api:record_refill",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def record_refill(
    plan_id: int,
    body: RefillRecordCreate,
    session: SessionDep,
    protocols: ProtocolsDep,
    client: PlansWriter,
) -> PumpRefillOut:
    """Record a refill of the plan's pump. The alarm date and refill window integrate the
    plan's daily dose over the days from the fill date (a rising titration uses more than
    its first day's dose)."""
    data = RefillInput(
        filled_on=body.filled_on, reservoir_ml=body.reservoir_ml,
        alarm_volume_ml=body.alarm_volume_ml,
        concentration_mcg_per_ml=body.concentration_mcg_per_ml,
        max_refill_interval_days=body.max_refill_interval_days,
    )  # fmt: skip
    refill = refill_service.record_refill(
        session, actor=client, protocols=protocols, plan_id=plan_id, data=data
    )
    return refill_out(refill)


@router.get(
    "/plans/{plan_id}/refills", name="api:list_refills", responses=problem_responses(401, 403, 404)
)
def list_refills(plan_id: int, session: SessionDep, client: PlansReader) -> list[PumpRefillOut]:
    """The pump's refills, newest first."""
    refills = refill_service.list_refills(session, actor=client, plan_id=plan_id)
    return [refill_out(refill) for refill in refills]
