"""Audit review for admins: a filtered, paginated page (htmx filtering) and a CSV report."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.db.models import AuditEventRecord
from app.services import audit_review
from app.services.audit_review import CATEGORIES, AuditFilters
from app.services.pagination import BadCursor, decode_cursor, encode_cursor
from app.web.deps import CurrentClinician, SessionDep
from app.web.htmx import is_partial
from app.web.templating import clinic_zone, render

router = APIRouter(prefix="/audit")

CATEGORY_LABELS = {
    "all": "All events",
    "overrides": "Overrides",
    "failed_logins": "Failed logins",
    "rate_limits": "Rate-limit refusals",
    "phi_reads": "Reads of patient data",
    "writes": "Changes",
}
CSV_COLUMNS = (
    "id", "occurred_at", "action", "outcome", "actor_kind", "actor_name", "actor_role",
    "entity_type", "entity_id", "patient_id", "old_version", "new_version", "reason",
    "detail", "request_id", "client_ip", "row_hash",
)  # fmt: skip
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PIECE_START_TRIGGER = re.compile(r"(^|[,;])([ ]*)([=+\-@\t\r])")

Text = Annotated[str, Query(max_length=100)]


@dataclass
class FilterForm:
    """The filter fields as typed (so the form shows them back) and what they mean."""

    values: dict[str, str]
    filters: AuditFilters = field(default_factory=AuditFilters)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls,
        patient: str,
        user: str,
        date_from: str,
        date_to: str,
        category: str,
        zone: tzinfo = UTC,
    ) -> FilterForm:
        values = {
            "patient": patient.strip(),
            "user": user.strip(),
            "date_from": date_from.strip(),
            "date_to": date_to.strip(),
            "category": category or "all",
        }
        errors: dict[str, str] = {}
        patient_id = _parse_id(values["patient"], errors)
        start = _parse_date(values, "date_from", errors)
        end = _parse_date(values, "date_to", errors)
        if start and end and end < start:
            errors["date_to"] = "The end date is before the start date."
        if values["category"] not in CATEGORIES:
            errors["category"] = "Choose one of the listed kinds of event."
            values["category"] = "all"
        filters = AuditFilters(patient_id, values["user"], start, end, values["category"], zone)
        return cls(values, filters, errors)

    def query_string(self) -> str:
        return urlencode({key: value for key, value in self.values.items() if value})


@router.get("", name="audit:index")
def review_audit(
    request: Request,
    session: SessionDep,
    clinician: CurrentClinician,
    patient: Text = "",
    user: Text = "",
    date_from: Text = "",
    date_to: Text = "",
    category: Text = "all",
    cursor: Annotated[str, Query(max_length=400)] = "",
) -> Response:
    form = FilterForm.parse(patient, user, date_from, date_to, category, clinic_zone(request))
    if form.errors:
        return _page(request, clinician, form, events=[], next_cursor=None, status=422)
    page = audit_review.review_audit(
        session, actor=clinician, filters=form.filters, before_id=_before_id(cursor)
    )
    next_cursor = None
    if page.next_before_id is not None:
        next_cursor = encode_cursor(("audit", page.next_before_id))
    return _page(request, clinician, form, events=page.events, next_cursor=next_cursor)


@router.get("/report.csv", name="audit:report")
def download_audit_report(
    request: Request,
    session: SessionDep,
    clinician: CurrentClinician,
    patient: Text = "",
    user: Text = "",
    date_from: Text = "",
    date_to: Text = "",
    category: Text = "all",
) -> Response:
    form = FilterForm.parse(patient, user, date_from, date_to, category, clinic_zone(request))
    if form.errors:
        return _page(request, clinician, form, events=[], next_cursor=None, status=422)
    events, truncated = audit_review.audit_report(session, actor=clinician, filters=form.filters)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {"Content-Disposition": f'attachment; filename="audit-report-{stamp}.csv"'}
    if truncated:
        headers["X-Report-Truncated"] = str(audit_review.REPORT_LIMIT)
    return Response(report_csv(events), media_type="text/csv; charset=utf-8", headers=headers)


def report_csv(events: list[AuditEventRecord]) -> str:
    buffer = io.StringIO()
    # Every cell quoted: a spreadsheet that splits on ';' (the German default) or ',' keeps
    # a cell holding either in one piece.
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow([csv_cell(value) for value in _csv_values(event)])
    return buffer.getvalue()


def csv_cell(value: object) -> str:
    """Text no spreadsheet runs: an apostrophe goes before a formula trigger at the start of
    the cell and at the start of every piece after a ',' or ';', so the cell stays inert even
    in a program that splits on a separator inside quotes (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return _PIECE_START_TRIGGER.sub(r"\1\2'\3", text)


def detail_text(detail: object) -> str:
    return "" if detail is None else json.dumps(detail, sort_keys=True, ensure_ascii=False)


def detail_lines(detail: object) -> list[tuple[str, str]]:
    """The detail as (label, value) lines a person reads: a change as "old → new", lists
    joined, nested filters flattened, a content hash shortened as the plan pages show it.
    The CSV report keeps the exact JSON."""
    if detail is None:
        return []
    if not isinstance(detail, dict):
        return [("", _value_text(detail))]
    if set(detail) >= {"from", "to"}:
        rest = {k: v for k, v in detail.items() if k not in ("from", "to")}
        change = f"{_value_text(detail['from'])} → {_value_text(detail['to'])}"
        return [(str(rest.pop("field", "change")), change), *detail_lines(rest)]
    lines = []
    for key, value in detail.items():
        label = key.replace("_", " ")
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            lines.append((label, f"{_value_text(value['from'])} → {_value_text(value['to'])}"))
        elif isinstance(value, dict):
            nested = detail_lines(value)
            lines += [(f"{label}: {sub}" if sub else label, text) for sub, text in nested]
        elif key.endswith("sha256") and isinstance(value, str):
            short = label.removesuffix(" sha256").replace("content", "check code")
            lines.append((short, value[:12]))
        else:
            lines.append((label, _value_text(value)))
    return lines


def _value_text(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(item) for item in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "—"
    return str(value)  # typed text (a username tried at login) is shown exactly as typed


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event as the page shows it: the clinic's time with its zone, detail as lines."""

    event: AuditEventRecord
    at_iso: str
    at_text: str
    detail: str  # "role: viewer → prescriber · rows: 3"


def _row(event: AuditEventRecord, zone: tzinfo) -> EventRow:
    at = event.occurred_at.astimezone(zone)
    # Seconds, as the text shows (HTML's <time datetime> refuses microseconds).
    iso = at.isoformat(timespec="seconds")
    text = f"{at:%Y-%m-%d %H:%M:%S} {at.tzname()}"
    lines = detail_lines(event.detail)
    return EventRow(event, iso, text, " · ".join(f"{k}: {v}" if k else v for k, v in lines))


def _csv_values(event: AuditEventRecord) -> list[object]:
    values: list[object] = [getattr(event, name) for name in CSV_COLUMNS]
    values[CSV_COLUMNS.index("occurred_at")] = event.occurred_at.isoformat()
    values[CSV_COLUMNS.index("detail")] = detail_text(event.detail)
    return values


def _page(
    request: Request,
    clinician: object,
    form: FilterForm,
    *,
    events: list[AuditEventRecord],
    next_cursor: str | None,
    status: int = 200,
) -> Response:
    context = {
        "clinician": clinician,
        "form": form,
        "rows": [_row(event, clinic_zone(request)) for event in events],
        "zone_name": request.app.state.settings.clinic_timezone,
        "first_page": not request.query_params.get("cursor"),
        "next_cursor": next_cursor,
        "categories": CATEGORY_LABELS,
        "query": form.query_string(),
    }
    template = "audit/_results.html" if is_partial(request) else "audit/index.html"
    response = render(request, template, context, status_code=status)
    response.headers["Vary"] = "HX-Request"
    return response


def _before_id(cursor: str) -> int | None:
    try:
        after = decode_cursor(cursor)
    except BadCursor:
        return None  # a mangled "next" link restarts at the newest events
    return after[1] if after else None


def _parse_id(raw: str, errors: dict[str, str]) -> int | None:
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        errors["patient"] = "A patient id is a whole number."
        return None
    return int(raw)


def _parse_date(values: dict[str, str], name: str, errors: dict[str, str]) -> date | None:
    raw = values[name]
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Use the form YYYY-MM-DD."
        return None
