"""Queries of protocols and their versions (issue 17)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.models import ProtocolRecord, ProtocolVersionRecord

_IN_FORCE = ("approved", "superseded")


def all_protocols(session: Session) -> list[ProtocolRecord]:
    return list(session.scalars(select(ProtocolRecord).order_by(ProtocolRecord.id)))


def get(session: Session, protocol_id: str) -> ProtocolRecord | None:
    return session.get(ProtocolRecord, protocol_id)


def versions(session: Session, protocol_id: str) -> list[ProtocolVersionRecord]:
    query = (
        select(ProtocolVersionRecord)
        .where(ProtocolVersionRecord.protocol_id == protocol_id)
        .order_by(ProtocolVersionRecord.version)
    )
    return list(session.scalars(query))


def draft_counts(session: Session) -> dict[str, int]:
    """Protocol id -> how many drafts wait for approval (protocols without one are absent)."""
    query = (
        select(ProtocolVersionRecord.protocol_id, func.count())
        .where(ProtocolVersionRecord.status == "draft")
        .group_by(ProtocolVersionRecord.protocol_id)
    )
    return {protocol_id: count for protocol_id, count in session.execute(query)}


def version(session: Session, protocol_id: str, number: int) -> ProtocolVersionRecord | None:
    query = select(ProtocolVersionRecord).where(
        ProtocolVersionRecord.protocol_id == protocol_id,
        ProtocolVersionRecord.version == number,
    )
    return session.scalars(query).first()


def latest_number(session: Session, protocol_id: str) -> int:
    query = select(func.max(ProtocolVersionRecord.version)).where(
        ProtocolVersionRecord.protocol_id == protocol_id
    )
    return session.scalar(query) or 0


def effective(session: Session, on: date) -> dict[str, ProtocolVersionRecord]:
    """Each protocol's version in force on ``on``: approved (or since superseded) with the
    latest ``effective_from`` on or before that day, the higher version breaking a tie."""
    query = (
        select(ProtocolVersionRecord)
        .where(
            ProtocolVersionRecord.status.in_(_IN_FORCE),
            ProtocolVersionRecord.effective_from <= on,
        )
        .order_by(ProtocolVersionRecord.effective_from, ProtocolVersionRecord.version)
    )
    chosen: dict[str, ProtocolVersionRecord] = {}
    for record in session.scalars(query):
        chosen[record.protocol_id] = record  # later rows win
    return chosen


def approve_draft(session: Session, record_id: int, values: dict[str, object]) -> bool:
    """Turn a draft into an approved version in one conditional UPDATE: of two approvers
    racing, only one changes a row that is still a draft (the other gets False)."""
    result = session.execute(
        update(ProtocolVersionRecord)
        .where(ProtocolVersionRecord.id == record_id, ProtocolVersionRecord.status == "draft")
        .values(status="approved", **values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def supersede_before(
    session: Session, protocol_id: str, effective_from: date, except_id: int
) -> None:
    """Mark as superseded the approved versions that a newly approved one replaces."""
    session.execute(
        update(ProtocolVersionRecord)
        .where(
            ProtocolVersionRecord.protocol_id == protocol_id,
            ProtocolVersionRecord.status == "approved",
            ProtocolVersionRecord.effective_from <= effective_from,
            ProtocolVersionRecord.id != except_id,
        )
        .values(status="superseded")
        .execution_options(synchronize_session=False)
    )


def generation(session: Session) -> int:
    """How many versions have ever been approved: one more with each approval (rows are never
    deleted and a version never goes back to draft), so a changed count means a changed
    approved set. The newest id would not do: an older draft can be approved after a newer."""
    query = select(func.count()).where(ProtocolVersionRecord.status.in_(_IN_FORCE))
    return int(session.scalar(query) or 0)
