"""Plan previews, stored plans with immutable versions, and the pump refill calculator."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status

from app.api.v1.deps import (
    IfMatch,
    PlansPreviewer,
    PlansReader,
    PlansReviewer,
    PlansWriter,
    ProtocolsDep,
    SessionDep,
    etag,
    parse_if_match,
)
from app.api.v1.openapi import sends_headers
from app.api.v1.plan_json import plan_json
from app.api.v1.plan_mapping import (
    plan_input_to_domain,
    preview_request_to_domain,
    review_out,
    stored_plan_out,
)
from app.api.v1.plan_schemas import (
    PlanCreate,
    PlanOut,
    PlanPreviewRequest,
    PlanRevision,
    RefillOut,
    RefillRequest,
    ReviewCreate,
    ReviewOut,
    StateChange,
    StoredPlanOut,
)
from app.api.v1.problems import problem_responses
from app.domain import titration
from app.services import plans as plan_service
from app.services.plans import SaveOptions

router = APIRouter(tags=["plans"])

IdempotencyKey = Annotated[
    str | None,
    Header(max_length=200, description="Retrying with the same key returns the first plan."),
]


async def _raw_body(request: Request) -> bytes:
    # Read here, in an async dependency, so that handlers needing the exact bytes can still
    # be plain `def`: FastAPI runs those in a worker thread, and their database work (which
    # may wait for SQLite's write lock) never blocks the event loop of the whole worker.
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


@router.post(
    "/plans/preview",
    name="api:preview_plan",
    response_model=PlanOut,
    responses=problem_responses(401, 403, 422),
)
async def preview_plan(
    body: PlanPreviewRequest, protocols: ProtocolsDep, client: PlansPreviewer
) -> Response:
    # Async on purpose: it reads no database (the token check is async and cached), and the
    # engine's fraction of a millisecond costs less on the event loop than a thread hop.
    # The answer is written by plan_json (the bytes PlanOut would give, without validating
    # the plan into the model first); `response_model` keeps PlanOut in OpenAPI.
    """Compute a plan without storing anything. A plan blocked by a finding is an answer
    (`status: blocked`, no steps, every finding listed); invalid input or a target above a
    hard limit is a 422 problem."""
    request = preview_request_to_domain(body, today=date.today())
    plan = plan_service.preview_plan(protocols, request)
    return Response(plan_json(plan), media_type="application/json")


@router.post(
    "/patients/{patient_id}/plans",
    status_code=status.HTTP_201_CREATED,
    name="api:create_plan",
    openapi_extra=sends_headers("ETag", "Location"),
    responses=problem_responses(401, 403, 404, 409, 422),
)
def create_plan(
    patient_id: int,
    body: PlanCreate,
    raw_body: RawBody,
    request: Request,
    response: Response,
    session: SessionDep,
    protocols: ProtocolsDep,
    client: PlansWriter,
    idempotency_key: IdempotencyKey = None,
) -> StoredPlanOut:
    """Store a plan for the patient as version 1. Every `major` finding's code must be in
    `acknowledged`; a blocked plan is refused until each block is overridden with a reason.
    Send `Idempotency-Key` so that a retried request makes one plan, not two."""
    options = SaveOptions(
        acknowledged=tuple(body.acknowledged),
        idempotency_key=idempotency_key,
        request_fingerprint=plan_service.request_fingerprint(request.url.path, raw_body),
        supersedes_plan_id=body.supersedes_plan_id,
    )
    record, version, created = plan_service.create_plan(
        session, actor=client, protocols=protocols, patient_id=patient_id, options=options,
        request_for=lambda patient: plan_input_to_domain(body, patient=patient, today=date.today()),
    )  # fmt: skip
    if not created:
        # A retry answers like the first call did, and says that it is a replay.
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = str(request.url_for("api:show_plan", plan_id=record.id))
    response.headers["ETag"] = etag(record.current_version)
    return stored_plan_out(record, version)


@router.get(
    "/patients/{patient_id}/plans",
    name="api:list_patient_plans",
    responses=problem_responses(401, 403, 404),
)
def list_patient_plans(
    patient_id: int, session: SessionDep, client: PlansReader
) -> list[StoredPlanOut]:
    """Every plan of the patient (newest first), each as its current version."""
    plans = plan_service.list_patient_plans(session, actor=client, patient_id=patient_id)
    return [stored_plan_out(record, version) for record, version in plans]


@router.get(
    "/plans/{plan_id}",
    name="api:show_plan",
    openapi_extra=sends_headers("ETag"),
    responses=problem_responses(401, 403, 404),
)
def show_plan(
    plan_id: int, response: Response, session: SessionDep, client: PlansReader
) -> StoredPlanOut:
    """The current version of a plan, with `ETag` (send it as `If-Match` to revise)."""
    record, versions = plan_service.read_plan(session, actor=client, plan_id=plan_id)
    response.headers["ETag"] = etag(record.current_version)
    return stored_plan_out(record, versions[-1])


@router.get(
    "/plans/{plan_id}/versions",
    name="api:list_plan_versions",
    responses=problem_responses(401, 403, 404),
)
def list_plan_versions(
    plan_id: int, session: SessionDep, client: PlansReader
) -> list[StoredPlanOut]:
    """Every version, oldest first. A saved version never changes."""
    record, versions = plan_service.read_plan(session, actor=client, plan_id=plan_id)
    return [stored_plan_out(record, version) for version in versions]


@router.post(
    "/plans/{plan_id}/versions",
    status_code=status.HTTP_201_CREATED,
    name="api:revise_plan",
    openapi_extra=sends_headers("ETag", "Location"),
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
def revise_plan(
    plan_id: int,
    body: PlanRevision,
    request: Request,
    response: Response,
    session: SessionDep,
    protocols: ProtocolsDep,
    client: PlansWriter,
    if_match: IfMatch = None,
) -> StoredPlanOut:
    """Save a revision as version n+1 with a reason. Needs `If-Match` with the current ETag
    (428 without, 412 when someone revised it first)."""
    record, version = plan_service.revise_plan(
        session, actor=client, protocols=protocols, plan_id=plan_id,
        expected_version=parse_if_match(if_match), reason=body.reason,
        options=SaveOptions(acknowledged=tuple(body.acknowledged)),
        request_for=lambda patient: plan_input_to_domain(body, patient=patient, today=date.today()),
    )  # fmt: skip
    response.headers["Location"] = str(request.url_for("api:show_plan", plan_id=record.id))
    response.headers["ETag"] = etag(record.current_version)
    return stored_plan_out(record, version)


def _state_route(path: str, new_state: str, summary: str) -> None:
    @router.post(
        f"/plans/{{plan_id}}/{path}",
        name=f"api:{path}_plan",
        summary=summary,
        responses=problem_responses(401, 403, 404, 409, 412, 422),
    )
    def change(
        plan_id: int,
        body: StateChange,
        session: SessionDep,
        client: PlansWriter,
        if_match: IfMatch = None,
    ) -> StoredPlanOut:
        expected = parse_if_match(if_match) if if_match else None
        record, version = plan_service.change_state(
            session, actor=client, plan_id=plan_id, expected_version=expected, new_state=new_state,
            reason=body.reason,
        )  # fmt: skip
        return stored_plan_out(record, version)


_state_route("hold", "on_hold", "Put a plan on hold, with a reason")
_state_route("resume", "active", "Resume a plan that is on hold, with a reason")
_state_route("discontinue", "discontinued", "Discontinue a plan, with a reason (final)")


@router.post(
    "/plans/{plan_id}/reviews",
    status_code=status.HTTP_201_CREATED,
    name="api:review_plan",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
def review_plan(
    plan_id: int,
    body: ReviewCreate,
    session: SessionDep,
    client: PlansReviewer,
    if_match: IfMatch = None,
) -> ReviewOut:
    """Record a pharmacist's review of the current version, acknowledging every finding
    that is not `info`. Needs `If-Match` with the plan's ETag (the version reviewed)."""
    review = plan_service.review_plan(
        session, actor=client, plan_id=plan_id, expected_version=parse_if_match(if_match),
        acknowledged=tuple(body.acknowledged), note=body.note, outcome=body.outcome,
    )  # fmt: skip
    return review_out(review)


@router.get(
    "/plans/{plan_id}/reviews",
    name="api:list_plan_reviews",
    responses=problem_responses(401, 403, 404),
)
def list_plan_reviews(plan_id: int, session: SessionDep, client: PlansReader) -> list[ReviewOut]:
    """Every review of every version of the plan, oldest first."""
    # Reviews belong to the plan's record: reading them is recorded as a read of the plan.
    plan_service.read_plan(session, actor=client, plan_id=plan_id)
    reviews = plan_service.list_reviews(session, actor=client, plan_id=plan_id)
    return [review_out(review) for review in reviews]


@router.post("/itb/refill", name="api:calculate_refill", responses=problem_responses(401, 403, 422))
def calculate_refill(
    body: RefillRequest, protocols: ProtocolsDep, client: PlansPreviewer
) -> RefillOut:
    """Pump refill calculator: days to the low-reservoir alarm, the alarm date and the refill
    window. Without `alarm_volume_ml` it refuses (422) rather than guess."""
    refill = titration.calculate_refill(
        reservoir_ml=body.reservoir_ml, alarm_volume_ml=body.alarm_volume_ml,
        concentration_mcg_per_ml=body.concentration_mcg_per_ml,
        daily_dose=titration.Dose(body.daily_dose.value, body.daily_dose.unit),
        fill_date=body.fill_date, max_refill_interval_days=body.max_refill_interval_days,
        protocols=protocols,
    )  # fmt: skip
    return RefillOut.model_validate(refill, from_attributes=True)
