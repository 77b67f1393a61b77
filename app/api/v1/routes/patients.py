"""Patient records for client systems (API.md §4)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from app.api.v1.deps import (
    IfMatch,
    PatientsReader,
    PatientsWriter,
    SessionDep,
    etag,
    parse_if_match,
)
from app.api.v1.openapi import sends_headers
from app.api.v1.patient_mapping import changes_from_update, facts_from_create, to_patient_read
from app.api.v1.problems import problem_responses
from app.api.v1.schemas import (
    NO_NUL,
    ArchiveRequest,
    Page,
    PatientCreate,
    PatientRead,
    PatientUpdate,
)
from app.services import patients as patient_service
from app.services.pagination import BadCursor, decode_cursor, encode_cursor

router = APIRouter(prefix="/patients", tags=["patients"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    name="api:create_patient",
    openapi_extra=sends_headers("ETag", "Location"),
    responses=problem_responses(401, 403, 409, 422),
)
def create_patient(
    body: PatientCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    client: PatientsWriter,
) -> PatientRead:
    """Create a patient. The MRN must be unique (409 otherwise); `birth_date` is required."""
    facts = facts_from_create(body)
    record = patient_service.create_patient(session, actor=client, facts=facts, today=date.today())
    response.headers["Location"] = str(request.url_for("api:show_patient", patient_id=record.id))
    response.headers["ETag"] = etag(record.version)
    return to_patient_read(record)


@router.get("", name="api:list_patients", responses=problem_responses(401, 403, 422))
def list_patients(
    session: SessionDep,
    client: PatientsReader,
    q: Annotated[
        str,
        Query(max_length=100, pattern=NO_NUL, description="Words matched against name and MRN."),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=400, pattern=NO_NUL)] = None,
    include_archived: bool = False,
) -> Page[PatientRead]:
    """Search patients by name or MRN, alphabetically by family name, a page at a time."""
    page = patient_service.search_patients(
        session,
        actor=client,
        text=q,
        limit=limit,
        after=_decode_cursor(cursor),
        include_archived=include_archived,
    )
    next_cursor = encode_cursor(page.next_after) if page.next_after else None
    return Page[PatientRead](
        items=[to_patient_read(r) for r in page.items], next_cursor=next_cursor
    )


@router.get(
    "/{patient_id}",
    name="api:show_patient",
    openapi_extra=sends_headers("ETag"),
    responses=problem_responses(401, 403, 404),
)
def show_patient(
    patient_id: int, response: Response, session: SessionDep, client: PatientsReader
) -> PatientRead:
    """One patient, with its `ETag` (pass it back as `If-Match` to change the record)."""
    record = patient_service.read_patient(session, actor=client, patient_id=patient_id)
    response.headers["ETag"] = etag(record.version)
    return to_patient_read(record)


@router.patch(
    "/{patient_id}",
    name="api:update_patient",
    openapi_extra=sends_headers("ETag"),
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
def update_patient(
    patient_id: int,
    body: PatientUpdate,
    response: Response,
    session: SessionDep,
    client: PatientsWriter,
    if_match: IfMatch = None,
) -> PatientRead:
    """Change some fields. Needs `If-Match` (428 without it, 412 when another change came first)."""
    record = patient_service.update_patient(
        session,
        actor=client,
        patient_id=patient_id,
        expected_version=parse_if_match(if_match),
        changes=changes_from_update(body),
        today=date.today(),
    )
    response.headers["ETag"] = etag(record.version)
    return to_patient_read(record)


@router.post(
    "/{patient_id}/archive",
    name="api:archive_patient",
    openapi_extra=sends_headers("ETag"),
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
def archive_patient(
    patient_id: int,
    body: ArchiveRequest,
    response: Response,
    session: SessionDep,
    client: PatientsWriter,
    if_match: IfMatch = None,
) -> PatientRead:
    """Archive a patient with a reason. Nothing is ever deleted."""
    record = patient_service.archive_patient(
        session,
        actor=client,
        patient_id=patient_id,
        expected_version=parse_if_match(if_match),
        reason=body.reason,
    )
    response.headers["ETag"] = etag(record.version)
    return to_patient_read(record)


def _decode_cursor(cursor: str | None) -> tuple[str, int] | None:
    try:
        return decode_cursor(cursor)
    except BadCursor as exc:
        raise HTTPException(422, "The cursor is not one this API issued.") from exc
