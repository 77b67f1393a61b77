"""Export files as both HTTP surfaces hand them out: bytes, media type, a name without PHI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from app.config import Settings
from app.exports.fhir import FHIR_JSON, BundleType, FhirOptions, build_bundle
from app.exports.ical import ICS_MEDIA_TYPE, CalendarOptions, build_calendar
from app.printing.i18n import choose_language
from app.services.plan_exports import ExportSource


@dataclass(frozen=True, slots=True)
class ExportFile:
    content: bytes
    media_type: str
    filename: str  # plan-<id>-v<n>.<ext>: never a patient's name or MRN

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Disposition": f'attachment; filename="{self.filename}"'}


def fhir_file(
    source: ExportSource,
    settings: Settings,
    *,
    now: datetime,
    bundle_type: BundleType = "collection",
) -> ExportFile:
    options = FhirOptions.from_settings(settings)
    bundle = build_bundle(source, options, now=now, bundle_type=bundle_type)
    content = json.dumps(bundle, ensure_ascii=False, indent=2).encode()
    return ExportFile(content, FHIR_JSON, _filename(source, "fhir.json"))


def calendar_file(
    source: ExportSource, settings: Settings, *, now: datetime, language: str | None = None
) -> ExportFile:
    """The plan's calendar in `language`, else the patient's preferred language.

    Raises:
        UnknownLanguage: a language without a catalogue was asked for.
    """
    chosen = choose_language(language, preferred=source.patient.preferred_language)
    name = f"Baclofen plan {source.plan.id} v{source.version.number}"
    content = build_calendar(
        [source], CalendarOptions.from_settings(settings), now=now, language=chosen, name=name
    )
    return ExportFile(content, ICS_MEDIA_TYPE, _filename(source, "ics"))


def _filename(source: ExportSource, extension: str) -> str:
    return f"plan-{source.plan.id}-v{source.version.number}.{extension}"
