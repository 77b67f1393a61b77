"""The clinician summary of a stored plan version as a PDF, for other systems to file."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response

from app.api.v1.deps import PlansReader, SessionDep
from app.api.v1.problems import problem_responses
from app.config import Settings
from app.printing import summary_document
from app.printing.pdf import PDF_MEDIA_TYPE
from app.printing.summary_document import SummaryRequest

router = APIRouter(tags=["documents"])

VersionQuery = Annotated[
    int | None,
    Query(
        ge=1,
        le=1_000_000,
        description="A saved version of the plan; the current version when omitted.",
    ),
]
_PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The clinician summary as a PDF (A4), with `Cache-Control: no-store`.",
        "content": {PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get(
    "/plans/{plan_id}/summary.pdf",
    name="api:plan_summary_pdf",
    response_class=Response,
    responses={**_PDF_RESPONSE, **problem_responses(401, 403, 404, 422)},
)
def download_plan_summary_pdf(
    plan_id: int, request: Request, session: SessionDep, client: PlansReader,
    version: VersionQuery = None,
) -> Response:  # fmt: skip
    """The clinician summary of one saved version of a plan, as a PDF: the plan inputs and the
    patient data they used, the renal estimate with its method, band and weight basis, the
    protocol id, version and SHA-256, the limits, every finding with its rule and source,
    every override and acknowledgement with who made it and why, and the schedule with every
    dose and its unit (mg for oral plans, mcg for intrathecal ones). The header carries the
    patient's name and birth date, the plan version and the first 12 hex digits of its
    content hash. A superseded version (`?version=` older than the current one) prints with
    a "SUPERSEDED — do not use" banner on every page. Each download is recorded in the audit
    trail as `plan.print`. An unknown plan or version is a 404 problem."""
    settings: Settings = request.app.state.settings
    asked = SummaryRequest(
        actor=client, plan_id=plan_id, version=version, zone=ZoneInfo(settings.clinic_timezone)
    )
    pdf = summary_document.summary_pdf(session, asked)
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="{pdf.filename}"',
    }
    return Response(pdf.content, media_type=pdf.media_type, headers=headers)
