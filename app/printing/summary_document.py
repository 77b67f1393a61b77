"""The clinician summary as a document, for both HTTP surfaces: one audited read, then render.

The HTML page and the PDF come from the same template and the same view model; the PDF is that
HTML printed by WeasyPrint on the server. Clinician documents are English (through the same
catalogues as the patient documents). Times are shown in the clinic's time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo

from sqlalchemy.orm import Session

from app.printing.document import PageSetup, base_context, build_header
from app.printing.environment import render_document
from app.printing.numbers import format_timestamp
from app.printing.pdf import PDF_MEDIA_TYPE, render_pdf
from app.printing.summary import build_summary
from app.printing.summary_basis import LANGUAGE
from app.services import plan_documents
from app.services.context import Actor, utc_now
from app.services.plan_documents import PlanDocumentSource

DOCUMENT = "clinician_summary"
TEMPLATE = "print/summary.html"


@dataclass(frozen=True, slots=True)
class SummaryRequest:
    """Which summary, for whom, shown in which zone. `version` None means the current one."""

    actor: Actor
    plan_id: int
    version: int | None
    zone: tzinfo


@dataclass(frozen=True, slots=True)
class SummaryPdf:
    content: bytes
    filename: str
    media_type: str = PDF_MEDIA_TYPE


def summary_html(
    session: Session, request: SummaryRequest, *, pdf_href: Callable[[int], str]
) -> str:
    """The printable page; `pdf_href(version)` links to the PDF of the very same version."""
    source = _read(session, request, output="html")
    setup = PageSetup(pdf_href=pdf_href(source.version.number))
    return _render(source, setup, request.zone)


def summary_pdf(session: Session, request: SummaryRequest) -> SummaryPdf:
    source = _read(session, request, output="pdf")
    html = _render(source, PageSetup(), request.zone)
    filename = f"plan-{source.plan.id}-v{source.version.number}-clinician-summary.pdf"
    return SummaryPdf(render_pdf(html), filename)


def _read(session: Session, request: SummaryRequest, *, output: str) -> PlanDocumentSource:
    return plan_documents.read_plan_version_for_document(
        session,
        actor=request.actor,
        plan_id=request.plan_id,
        version=request.version,
        document=DOCUMENT,
        language=LANGUAGE,
        detail={"format": output},
    )


def _render(source: PlanDocumentSource, setup: PageSetup, zone: tzinfo) -> str:
    printed_at = format_timestamp(utc_now(), LANGUAGE, zone=zone)
    header = build_header(
        source.patient,
        source.plan,
        source.version,
        printed_at=printed_at,
        prescriber=source.prescriber,
    )
    context = {
        **base_context(header, setup),
        "summary": build_summary(source.plan, source.version, source.patient),
        "reviews": source.reviews,
        "saved_at": format_timestamp(source.version.created_at, LANGUAGE, zone=zone),
        "zone": str(zone),
    }
    return render_document(TEMPLATE, context, language=LANGUAGE)
