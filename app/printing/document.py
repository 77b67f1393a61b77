"""What every printed page carries: who it is for, which plan version, who prescribed, when.

A patient document names the patient twice over (name and birth date), the plan version with
the first 12 hex digits of its content hash (so a paper copy can be matched to the stored
version), the prescriber, and when it was printed. A version that is not the current one is
superseded and every page says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from app.db.models import PatientRecord, PlanRecord, PlanVersionRecord

Paper = Literal["a4", "letter"]
PAPERS: tuple[Paper, ...] = ("a4", "letter")
SHORT_HASH_LENGTH = 12
# Root-relative, so the same HTML works in a browser and in the PDF renderer (pdf.py).
STYLESHEET_HREF = "/static/print.css"


@dataclass(frozen=True, slots=True)
class DocumentHeader:
    patient_name: str
    birth_date: date
    plan_id: int
    version: int
    current_version: int
    content_hash_short: str
    prescriber: str
    printed_at: str  # already formatted for the document's language and the clinic's zone
    prescriber_kind: str = "user"  # "client": an API token, printed as one, never as a person

    @property
    def superseded(self) -> bool:
        return self.version != self.current_version


@dataclass(frozen=True, slots=True)
class LanguageLink:
    code: str
    name: str
    href: str
    current: bool


@dataclass(frozen=True, slots=True)
class PageSetup:
    """Everything base.html needs besides the header; links are empty in a PDF."""

    paper: Paper = "a4"
    stylesheet_href: str = STYLESHEET_HREF
    language_links: tuple[LanguageLink, ...] = ()
    pdf_href: str | None = None


def build_header(
    patient: PatientRecord,
    plan: PlanRecord,
    version: PlanVersionRecord,
    *,
    printed_at: str,
    prescriber: str | None = None,
) -> DocumentHeader:
    return DocumentHeader(
        patient_name=f"{patient.given_name} {patient.family_name}",
        birth_date=patient.birth_date,
        plan_id=plan.id,
        version=version.number,
        current_version=plan.current_version,
        content_hash_short=version.content_sha256[:SHORT_HASH_LENGTH],
        prescriber=prescriber or version.created_by,
        printed_at=printed_at,
        prescriber_kind=version.author_kind,
    )


def base_context(header: DocumentHeader, setup: PageSetup) -> dict[str, Any]:
    """The variables templates/print/base.html reads."""
    return {
        "header": header,
        "paper": setup.paper,
        "stylesheet_href": setup.stylesheet_href,
        "language_links": setup.language_links,
        "pdf_href": setup.pdf_href,
    }
