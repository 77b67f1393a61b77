"""The patient's printed schedule of a stored plan version as a PDF, for other systems."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response

from app.api.v1.deps import PlansReader, ProtocolsDep, SessionDep
from app.api.v1.problems import problem_responses
from app.api.v1.schemas import IsoDate
from app.config import Settings
from app.printing import patient_schedule
from app.printing.i18n import choose_language
from app.printing.intrathecal import PumpFigures
from app.printing.pdf import PDF_MEDIA_TYPE
from app.services import plan_documents
from app.services.context import utc_now

# Exact numbers only, as in JSON bodies: 1E-999999 or 40 digits are refused (issue 13).
EXACT: dict[str, Any] = {"max_digits": 12, "decimal_places": 4}
router = APIRouter(tags=["documents"])

LanguageQuery = Annotated[
    Literal["en", "de", "vi"] | None,
    Query(description="Language of the schedule; the patient's preferred language when omitted."),
]
VersionQuery = Annotated[
    int | None,
    Query(ge=1, description="A saved version of the plan; the current version when omitted."),
]
PaperQuery = Annotated[Literal["a4", "letter"], Query(description="Paper size of the PDF.")]
_PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The patient schedule as a PDF, with `Cache-Control: no-store`.",
        "content": {PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


def pump_figures(
    reservoir_ml: Annotated[
        Decimal | None,
        Query(gt=0, le=100, **EXACT, description="Pump reservoir volume, mL."),
    ] = None,
    alarm_volume_ml: Annotated[
        Decimal | None,
        Query(
            ge=0,
            le=100,
            max_digits=12,
            decimal_places=4,
            description="Low-reservoir alarm volume, mL.",
        ),
    ] = None,
    concentration_mcg_per_ml: Annotated[
        Decimal | None,
        Query(
            gt=0,
            le=5000,
            max_digits=12,
            decimal_places=4,
            description="Drug concentration, mcg/mL.",
        ),
    ] = None,
    daily_dose: Annotated[
        Decimal | None,
        Query(
            gt=0,
            le=5000,
            max_digits=12,
            decimal_places=4,
            description="Programmed daily dose, mcg; the plan's by default.",
        ),
    ] = None,
    fill_date: Annotated[IsoDate | None, Query(description="Date of the refill; today.")] = None,
    max_refill_interval_days: Annotated[
        int | None, Query(ge=1, le=365, description="Longest refill interval, days.")
    ] = None,
) -> PumpFigures:
    return PumpFigures(
        reservoir_ml, alarm_volume_ml, concentration_mcg_per_ml, daily_dose, fill_date,
        max_refill_interval_days,
    )  # fmt: skip


@router.get(
    "/plans/{plan_id}/schedule.pdf",
    name="api:plan_schedule_pdf",
    response_class=Response,
    responses={**_PDF_RESPONSE, **problem_responses(401, 403, 404, 409, 422)},
)
def download_plan_schedule_pdf(
    plan_id: int, request: Request, session: SessionDep, client: PlansReader,
    protocols: ProtocolsDep, pump: Annotated[PumpFigures, Depends(pump_figures)],
    lang: LanguageQuery = None, version: VersionQuery = None, paper: PaperQuery = "a4",
) -> Response:  # fmt: skip
    """The schedule the patient takes home, as a PDF in English, German or Vietnamese: week
    by week, one line per day with its date, each dose time with a tick box, the dose with
    its unit and what to take ("1 tablet of 10 mg", "5 mL of 1 mg/mL solution = 5 mg"),
    dose changes marked, plain-language advice, the review date and the clinic contact.
    Intrathecal plans give the screening-day sheet, or the titration sheet in mcg with the
    pump card (the pump's figures, if given, fill in its concentration, alarm date and
    refill window). The header carries the patient's name and birth date, the plan version,
    the first 12 hex digits of the content hash, the prescriber and the time printed; a
    superseded version carries a "SUPERSEDED — do not use" banner on every page. Numbers
    follow the language (German "2,5 mg") and never carry a trailing zero. Each download is
    recorded in the audit trail as `plan.print`. An unknown language is a 422 problem; a
    plan version without doses is a 409."""
    source = plan_documents.read_plan_version_for_document(
        session, actor=client, plan_id=plan_id, version=version,
        document=patient_schedule.DOCUMENT, language=lang, detail={"format": "pdf"},
    )  # fmt: skip
    settings: Settings = request.app.state.settings
    context = patient_schedule.PrintContext(
        language=choose_language(lang, preferred=source.patient.preferred_language),
        printed_at=utc_now(), zone=ZoneInfo(settings.clinic_timezone),
        clinic=patient_schedule.ClinicContact(settings.clinic_name, settings.clinic_phone),
        protocols=protocols, figures=pump,
    )  # fmt: skip
    name = patient_schedule.schedule_filename(source, context.language)
    return Response(
        patient_schedule.render_schedule_pdf(source, context, paper),
        media_type=PDF_MEDIA_TYPE,
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"},
    )
