"""Reviewing the audit trail (RELIABILITY.md A6): filtered pages and a report download.

Only admins may review (`audit.review` in permissions), and every review is itself an audit
event, with the filters used and how many rows were shown. An admin sees their own clinic's
rows only; a system admin (and the system) every row (issue 13; how a row belongs to a
clinic: `repositories.audit._of_clinic`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord
from app.db.repositories import audit as audit_repo
from app.db.repositories.audit import CATEGORIES, AuditQuery
from app.services import audit, permissions
from app.services.audit import AuditEntry
from app.services.context import Actor

PAGE_SIZE = 50
# A report is for reading and filing, not a database export; narrow the filters for more.
REPORT_LIMIT = 50_000

__all__ = ["CATEGORIES", "AuditFilters", "AuditPage", "audit_report", "review_audit"]


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """Dates are whole days in `zone` (the clinic's, as pages show times), both ends
    included."""

    patient_id: int | None = None
    actor_name: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    category: str = "all"
    zone: tzinfo = UTC

    def to_query(self, *, clinic_id: int | None) -> AuditQuery:
        return AuditQuery(
            clinic_id=clinic_id,
            patient_id=self.patient_id,
            actor_name=self.actor_name or None,
            since=_midnight(self.date_from, self.zone) if self.date_from else None,
            until=_midnight(self.date_to + timedelta(days=1), self.zone) if self.date_to else None,
            category=self.category,
        )

    def as_detail(self) -> dict[str, object]:
        values = {
            "patient_id": self.patient_id,
            "actor_name": self.actor_name,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "category": self.category,
        }
        return {key: value for key, value in values.items() if value not in (None, "")}


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[AuditEventRecord]
    next_before_id: int | None


def review_audit(
    session: Session, *, actor: Actor, filters: AuditFilters, before_id: int | None
) -> AuditPage:
    """One page of events, newest first, and the review recorded."""
    permissions.require(actor, "audit.review")
    query = filters.to_query(clinic_id=permissions.admin_scope(actor))
    events = audit_repo.search_events(session, query, limit=PAGE_SIZE + 1, before_id=before_id)
    page, more = events[:PAGE_SIZE], len(events) > PAGE_SIZE
    _record_review(session, actor, filters, shown=len(page), output="page")
    session.commit()
    return AuditPage(page, page[-1].id if more else None)


def audit_report(
    session: Session, *, actor: Actor, filters: AuditFilters
) -> tuple[list[AuditEventRecord], bool]:
    """Every matching event (newest first, at most REPORT_LIMIT) and whether more matched."""
    permissions.require(actor, "audit.review")
    query = filters.to_query(clinic_id=permissions.admin_scope(actor))
    events = audit_repo.search_events(session, query, limit=REPORT_LIMIT + 1)
    rows, truncated = events[:REPORT_LIMIT], len(events) > REPORT_LIMIT
    _record_review(session, actor, filters, shown=len(rows), output="csv")
    session.commit()
    return rows, truncated


def _record_review(
    session: Session, actor: Actor, filters: AuditFilters, *, shown: int, output: str
) -> None:
    audit.record(
        session,
        actor,
        AuditEntry(
            "audit.review",
            "audit_event",
            patient_id=filters.patient_id,
            detail={"filters": filters.as_detail(), "output": output, "rows": shown},
        ),
    )


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(UTC)
