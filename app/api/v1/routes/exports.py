"""Stored plans for other systems: a FHIR R4 Bundle and an iCalendar file (API.md §4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from app.api.v1.deps import PlansReader, SessionDep
from app.api.v1.problems import problem_responses
from app.config import Settings
from app.exports import files as export_files
from app.exports.fhir import FHIR_JSON, BundleType
from app.exports.files import ExportFile
from app.services import plan_exports as export_service
from app.services.context import utc_now

router = APIRouter(tags=["exports"])

VersionQuery = Annotated[
    int | None,
    Query(ge=1, description="A saved version of the plan; the current version when omitted."),
]

LanguageQuery = Annotated[
    Literal["en", "de", "vi"] | None,
    Query(description="Language of the events; the patient's preferred language when omitted."),
]
BundleQuery = Annotated[
    BundleType,
    Query(
        description="`collection` (default) to read or import; `transaction` to post to a FHIR "
        "server as it is (conditional creates on identifiers; a revision also stops the order "
        "it replaces)."
    ),
]


def _ok(media_type: str, description: str, schema: dict[str, Any]) -> dict[int | str, Any]:
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


@router.get(
    "/plans/{plan_id}/fhir",
    name="api:export_plan_fhir",
    response_class=Response,
    responses={
        **_ok(FHIR_JSON, "FHIR R4 Bundle (type collection or transaction)", {"type": "object"}),
        **problem_responses(401, 403, 404, 422),
    },
)
def export_plan_fhir(
    plan_id: int, request: Request, session: SessionDep, client: PlansReader,
    version: VersionQuery = None, bundle: BundleQuery = "collection",
) -> Response:  # fmt: skip
    """The plan as a FHIR R4 `Bundle`: the `Patient` (MRN identifier), the one
    `MedicationRequest` of the schedule (medication coded ATC M03BX01 and RxNorm 1292) with
    one `dosageInstruction` per step (`sequence` = step number, `timing.repeat.boundsPeriod`
    = the step's dates, `when` codes, SNOMED CT route, `doseQuantity` in UCUM `mg` or `ug`;
    pump steps a `rateQuantity` in `ug/d` only). A step with different doses at different
    times has one `dosageInstruction` per dose time, all with the step's `sequence`. One
    `SupplyRequest` per dispensed product, named in the request's `supportingInformation`.
    A revision names the order it replaces in `priorPrescription`. `meta.versionId` is the
    plan version; identifiers: the plan, `<plan>-v<version>` (`…/plan/version`) and the
    content SHA-256. A superseded version (`?version=`) is exported with status `stopped`."""
    source = export_service.read_plan_for_export(
        session, actor=client, plan_id=plan_id, version=version, export_format="fhir"
    )
    file = export_files.fhir_file(source, _settings(request), now=utc_now(), bundle_type=bundle)
    return _response(file)


@router.get(
    "/plans/{plan_id}/calendar.ics",
    name="api:export_plan_calendar",
    response_class=Response,
    responses={
        **_ok("text/calendar", "RFC 5545 calendar", {"type": "string"}),
        **problem_responses(401, 403, 404, 422),
    },
)
def export_plan_calendar(
    plan_id: int, request: Request, session: SessionDep, client: PlansReader,
    version: VersionQuery = None, lang: LanguageQuery = None,
) -> Response:  # fmt: skip
    """The schedule as an RFC 5545 calendar in the clinic's time zone (`VTIMEZONE` covering
    every event): one event per dose time per step, repeated daily over the step's days, with
    a reminder; all-day events for pump rates and for review and stop dates. A dose time
    keeps one `UID` across versions (`plan-<id>-step-<n>-<time>@titrate`); each revision
    raises `SEQUENCE` and lists the events it removed as `STATUS:CANCELLED`, so importing
    the current file over an older one leaves exactly the current schedule. No event names
    the patient. Events of a superseded, discontinued or held plan carry no reminders."""
    source = export_service.read_plan_for_export(
        session, actor=client, plan_id=plan_id, version=version, export_format="ical"
    )
    file = export_files.calendar_file(source, _settings(request), now=utc_now(), language=lang)
    return _response(file)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _response(file: ExportFile) -> Response:
    return Response(file.content, media_type=file.media_type, headers=file.headers)
