"""The patient's printed schedule of one stored plan version, as HTML or PDF.

Oral plans print week by week with tick boxes and plain-language advice; intrathecal plans
print the screening-day sheet, or the titration sheet with the pump card. Everything is read
from the stored version (``plan_json``), in the patient's language, so a reprint of version 2
says what version 2 said.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from app.domain.titration import ProtocolSet
from app.printing.document import PageSetup, base_context, build_header
from app.printing.environment import render_document
from app.printing.intrathecal import (
    PumpFigures,
    build_pump_card,
    build_sheet,
    ceiling_line,
    pump_card_from_refill,
)
from app.printing.numbers import format_timestamp
from app.printing.pdf import render_pdf
from app.printing.schedule import build_oral_schedule
from app.services.errors import Conflict
from app.services.plan_documents import PlanDocumentSource

TEMPLATES = {
    "oral_titration": "print/schedule.html",
    "oral_taper": "print/schedule.html",
    "itb_screening": "print/itb_screening.html",
    "itb_titration": "print/itb_titration.html",
}
DOCUMENT = "patient_schedule"
_KIDNEY_FINDINGS = frozenset(
    {
        "mild_renal_impairment",
        "moderate_renal_impairment",
        "severe_renal_impairment",
        "end_stage_renal_disease",
        "dialysis",
        "elderly_renal_impairment",
    }
)


@dataclass(frozen=True, slots=True)
class ClinicContact:
    """From TITRATE_CLINIC_NAME / TITRATE_CLINIC_PHONE; empty prints a line to write in."""

    name: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class PrintContext:
    """What the shell knows that the stored plan does not: when, where, and for whom."""

    language: str
    printed_at: datetime
    zone: tzinfo
    clinic: ClinicContact
    protocols: ProtocolSet
    figures: PumpFigures = field(default_factory=PumpFigures)


@dataclass(frozen=True, slots=True)
class OralAdvice:
    take_with_food: bool
    driving: bool
    kidneys: bool
    already_on_baclofen: bool = False  # A.6.9 baclofen_already_prescribed
    sedating_mix: bool = False  # A.6.9 multiple_cns_depressants (alcohol, opioids included)


def render_schedule_html(
    source: PlanDocumentSource, context: PrintContext, setup: PageSetup
) -> str:
    """The schedule page as HTML (no script; print.css decides the paper)."""
    plain: dict[str, Any] = json.loads(source.version.plan_json)
    if not plain["steps"]:
        raise Conflict("this plan version has no doses to print")
    language = context.language
    header = build_header(
        source.patient,
        source.plan,
        source.version,
        printed_at=format_timestamp(context.printed_at, language, zone=context.zone),
        prescriber=source.prescriber,
    )
    variables = base_context(header, setup) | {"clinic": context.clinic}
    variables |= _content(plain, context, source)
    return render_document(TEMPLATES[plain["plan_type"]], variables, language=language)


def render_schedule_pdf(source: PlanDocumentSource, context: PrintContext, paper: str) -> bytes:
    """The same document as a PDF: no links, the paper size asked for."""
    setup = PageSetup(paper="letter" if paper == "letter" else "a4")
    return render_pdf(render_schedule_html(source, context, setup))


def schedule_filename(source: PlanDocumentSource, language: str) -> str:
    """Names the plan and version only: a file name travels further than its contents."""
    return f"baclofen-schedule-plan-{source.plan.id}-v{source.version.number}-{language}.pdf"


def _content(
    plain: dict[str, Any], context: PrintContext, source: PlanDocumentSource
) -> dict[str, Any]:
    plan_type, language = plain["plan_type"], context.language
    if plan_type in ("itb_screening", "itb_titration"):
        content: dict[str, Any] = {"sheet": build_sheet(plain, language)}
        if plan_type == "itb_titration":
            content["ceiling"] = ceiling_line(plain, language)
        refill = source.last_refill
        if plan_type == "itb_titration" and context.figures == PumpFigures() and refill:
            # No figures asked for: the card carries the pump's last recorded refill.
            content["pump_card"] = pump_card_from_refill(
                filled_on=refill.filled_on, daily_dose_mcg=refill.daily_dose_mcg,
                concentration_mcg_per_ml=refill.concentration_mcg_per_ml,
                alarm_date=refill.alarm_date, window_start=refill.window_start,
                window_end=refill.window_end, language=language,
            )  # fmt: skip
        elif plan_type == "itb_titration":
            content["pump_card"] = build_pump_card(
                plain,
                language,
                figures=context.figures,
                today=context.printed_at.astimezone(context.zone).date(),
                protocols=context.protocols,
            )
        return content
    codes = {f["code"] for f in plain["findings"]}
    return {
        "schedule": build_oral_schedule(plain, language),
        "is_taper": plan_type == "oral_taper",
        "advice": OralAdvice(
            take_with_food="take_with_meals" in codes,
            driving="driving" in codes,
            kidneys=bool(codes & _KIDNEY_FINDINGS),
            already_on_baclofen="baclofen_already_prescribed" in codes,
            sedating_mix="multiple_cns_depressants" in codes,
        ),
    }
