"""The patient's printed schedule: a print page (HTML, no script) and the same as a PDF.

`?lang=en|de|vi` picks the language (default: the patient's preferred one), `?version=N` an
older version (printed with a SUPERSEDED banner), `?paper=a4|letter` the PDF's paper. For an
intrathecal titration the pump card takes the pump's figures from the query (the refill
calculator's fields); without them it leaves lines to write in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from app.domain.titration import ProtocolSet, TitrationError
from app.printing import patient_schedule
from app.printing.document import LanguageLink, PageSetup
from app.printing.i18n import LANGUAGE_NAMES, SUPPORTED_LANGUAGES, choose_language
from app.printing.intrathecal import PumpFigures
from app.printing.pdf import PDF_MEDIA_TYPE
from app.services import plan_documents
from app.services.context import utc_now
from app.services.plan_documents import PlanDocumentSource
from app.web.deps import CurrentClinician, SessionDep, SettingsDep

# Exact numbers only, as in JSON bodies: 1E-999999 or 40 digits are refused (issue 13).
EXACT: dict[str, Any] = {"max_digits": 12, "decimal_places": 4}
router = APIRouter()
T = TypeVar("T")

VersionQuery = Annotated[int | None, Query(ge=1)]
PaperQuery = Annotated[Literal["a4", "letter"], Query()]
# The refill calculator's limits (api RefillRequest): mL, mcg/mL, mcg/day, days.
_Volume = Annotated[Decimal | None, Query(gt=0, le=100, **EXACT)]


def pump_figures(
    reservoir_ml: _Volume = None,
    alarm_volume_ml: Annotated[Decimal | None, Query(ge=0, le=100, **EXACT)] = None,
    concentration_mcg_per_ml: Annotated[Decimal | None, Query(gt=0, le=5000, **EXACT)] = None,
    daily_dose: Annotated[Decimal | None, Query(gt=0, le=5000, **EXACT)] = None,
    fill_date: date | None = None,
    max_refill_interval_days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> PumpFigures:
    """The refill calculator's fields, for the pump card (daily_dose in mcg)."""
    return PumpFigures(
        reservoir_ml, alarm_volume_ml, concentration_mcg_per_ml, daily_dose, fill_date,
        max_refill_interval_days,
    )  # fmt: skip


PumpQuery = Annotated[PumpFigures, Depends(pump_figures)]


def requested_language(lang: Annotated[str | None, Query(max_length=16)] = None) -> str | None:
    """`?lang=`, checked: an unknown language is the caller's mistake, answered plainly."""
    if lang and lang not in SUPPORTED_LANGUAGES:
        raise HTTPException(
            400, detail="Unknown language: choose English (en), Deutsch (de) or Tiếng Việt (vi)."
        )
    return lang or None


LanguageQuery = Annotated[str | None, Depends(requested_language)]


@router.get("/plans/{plan_id}/print", name="plans:print_schedule")
def print_schedule(
    request: Request, plan_id: int, session: SessionDep, clinician: CurrentClinician,
    settings: SettingsDep, pump: PumpQuery, lang: LanguageQuery,
    version: VersionQuery = None, paper: PaperQuery = "a4",
) -> Response:  # fmt: skip
    source = plan_documents.read_plan_version_for_document(
        session, actor=clinician, plan_id=plan_id, version=version,
        document=patient_schedule.DOCUMENT, language=lang, detail={"format": "html"},
    )  # fmt: skip
    context = _print_context(request, settings, source, lang, pump)
    setup = PageSetup(
        paper=paper,
        stylesheet_href=str(request.url_for("static", path="print.css").path),
        language_links=_language_links(request, context.language),
        pdf_href=_pdf_href(request, plan_id, context.language),
    )
    html = _rendered(lambda: patient_schedule.render_schedule_html(source, context, setup))
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/plans/{plan_id}/print.pdf", name="plans:print_schedule_pdf")
def print_schedule_pdf(
    request: Request, plan_id: int, session: SessionDep, clinician: CurrentClinician,
    settings: SettingsDep, pump: PumpQuery, lang: LanguageQuery,
    version: VersionQuery = None, paper: PaperQuery = "a4",
) -> Response:  # fmt: skip
    source = plan_documents.read_plan_version_for_document(
        session, actor=clinician, plan_id=plan_id, version=version,
        document=patient_schedule.DOCUMENT, language=lang, detail={"format": "pdf"},
    )  # fmt: skip
    context = _print_context(request, settings, source, lang, pump)
    pdf = _rendered(lambda: patient_schedule.render_schedule_pdf(source, context, paper))
    name = patient_schedule.schedule_filename(source, context.language)
    return Response(pdf, media_type=PDF_MEDIA_TYPE, headers={
        "Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store",
    })  # fmt: skip


# ---- helpers (not handlers) -------------------------------------------------------------


def _print_context(
    request: Request,
    settings: SettingsDep,
    source: PlanDocumentSource,
    lang: str | None,
    pump: PumpFigures,
) -> patient_schedule.PrintContext:
    protocols: ProtocolSet = request.app.state.protocols
    return patient_schedule.PrintContext(
        language=choose_language(lang, preferred=source.patient.preferred_language),
        printed_at=utc_now(),
        zone=ZoneInfo(settings.clinic_timezone),
        clinic=patient_schedule.ClinicContact(settings.clinic_name, settings.clinic_phone),
        protocols=protocols,
        figures=pump,
    )


def _rendered(render: Callable[[], T]) -> T:
    """Pump figures that describe no pump are the caller's mistake: a 422, not a 500."""
    try:
        return render()
    except TitrationError as exc:
        raise HTTPException(422, detail=exc.message) from exc


def _language_links(request: Request, current: str) -> tuple[LanguageLink, ...]:
    return tuple(
        LanguageLink(code, LANGUAGE_NAMES[code], str(request.url.include_query_params(lang=code)),
                     code == current)
        for code in SUPPORTED_LANGUAGES
    )  # fmt: skip


def _pdf_href(request: Request, plan_id: int, language: str) -> str:
    url = request.url_for("plans:print_schedule_pdf", plan_id=plan_id)
    return str(url.include_query_params(**{**request.query_params, "lang": language}))
