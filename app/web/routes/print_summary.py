"""The clinician summary of a plan version: a printable page and its PDF."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.printing import summary_document
from app.printing.summary_document import SummaryRequest
from app.services.context import Actor
from app.web.deps import CurrentClinician, SessionDep, SettingsDep

router = APIRouter()
VersionQuery = Annotated[int | None, Query(ge=1, le=1_000_000)]
# Patient data: never kept by a browser or a proxy (RELIABILITY M11).
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/plans/{plan_id}/summary", name="print_summary:show")
def show_summary(
    request: Request, plan_id: int, session: SessionDep, clinician: CurrentClinician,
    settings: SettingsDep, version: VersionQuery = None,
) -> Response:  # fmt: skip
    def pdf_href(number: int) -> str:
        return f"{request.url_for('print_summary:pdf', plan_id=plan_id).path}?version={number}"

    asked = _asked(clinician, plan_id, version, settings.clinic_timezone)
    html = summary_document.summary_html(session, asked, pdf_href=pdf_href)
    return HTMLResponse(html, headers=NO_STORE)


@router.get("/plans/{plan_id}/summary.pdf", name="print_summary:pdf")
def download_summary_pdf(
    plan_id: int, session: SessionDep, clinician: CurrentClinician, settings: SettingsDep,
    version: VersionQuery = None,
) -> Response:  # fmt: skip
    asked = _asked(clinician, plan_id, version, settings.clinic_timezone)
    pdf = summary_document.summary_pdf(session, asked)
    disposition = f'attachment; filename="{pdf.filename}"'
    return Response(
        pdf.content, media_type=pdf.media_type,
        headers={**NO_STORE, "Content-Disposition": disposition},
    )  # fmt: skip


def _asked(actor: Actor, plan_id: int, version: int | None, zone: str) -> SummaryRequest:
    return SummaryRequest(actor=actor, plan_id=plan_id, version=version, zone=ZoneInfo(zone))
