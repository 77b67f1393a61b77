"""Downloads of a stored plan for clinicians: the FHIR R4 Bundle and the iCalendar file; and
the patient's calendar subscription, shown once with its QR code for the patient's phone."""

from __future__ import annotations

from typing import Annotated, Literal

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.exports import files as export_files
from app.exports.fhir import BundleType
from app.exports.files import ExportFile
from app.services import calendar_feeds as feed_service
from app.services import plan_exports as export_service
from app.services.context import utc_now
from app.web.deps import CurrentClinician, SessionDep, SettingsDep
from app.web.templating import render

router = APIRouter()
VersionQuery = Annotated[int | None, Query(ge=1)]


@router.get("/plans/{plan_id}/fhir.json", name="plans:export_fhir")
def download_fhir(
    plan_id: int, session: SessionDep, clinician: CurrentClinician, settings: SettingsDep,
    version: VersionQuery = None, bundle: Annotated[BundleType, Query()] = "collection",
) -> Response:  # fmt: skip
    source = export_service.read_plan_for_export(
        session, actor=clinician, plan_id=plan_id, version=version, export_format="fhir"
    )
    file = export_files.fhir_file(source, settings, now=utc_now(), bundle_type=bundle)
    return _download(file)


@router.get("/plans/{plan_id}/calendar.ics", name="plans:export_calendar")
def download_calendar(
    plan_id: int, session: SessionDep, clinician: CurrentClinician, settings: SettingsDep,
    version: VersionQuery = None, lang: Annotated[Literal["en", "de", "vi"] | None, Query()] = None,
) -> Response:  # fmt: skip
    source = export_service.read_plan_for_export(
        session, actor=clinician, plan_id=plan_id, version=version, export_format="ical"
    )
    file = export_files.calendar_file(source, settings, now=utc_now(), language=lang)
    return _download(file)


def _download(file: ExportFile) -> Response:
    return Response(file.content, media_type=file.media_type, headers=file.headers)


@router.post("/patients/{patient_id}/calendar-feed", name="plans:calendar_feed")
def create_calendar_feed(
    request: Request, patient_id: int, session: SessionDep, clinician: CurrentClinician
) -> Response:
    """A new subscription address for the patient's calendar app (the earlier one stops
    working), shown once as a link and a QR code to scan with the patient's phone."""
    token = feed_service.create_feed(session, actor=clinician, patient_id=patient_id)
    url = str(request.url_for("api:calendar_feed", token=token))
    qr = segno.make(url, error="m").svg_inline(scale=4, title="Calendar subscription address")
    context = {"clinician": clinician, "patient_id": patient_id, "url": url, "qr_svg": qr}
    return render(request, "plans/calendar_feed.html", context)
