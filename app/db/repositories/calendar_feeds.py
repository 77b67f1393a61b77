"""Calendar feeds: found by the SHA-256 of their secret, or as a patient's active ones."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import CalendarFeedRecord


def add(session: Session, record: CalendarFeedRecord) -> None:
    session.add(record)
    session.flush()


def by_token_hash(session: Session, token_sha256: str) -> CalendarFeedRecord | None:
    query = select(CalendarFeedRecord).where(
        CalendarFeedRecord.token_sha256 == token_sha256, CalendarFeedRecord.revoked_at.is_(None)
    )
    return session.scalars(query).first()


def active_for_patient(session: Session, patient_id: int) -> list[CalendarFeedRecord]:
    query = select(CalendarFeedRecord).where(
        CalendarFeedRecord.patient_id == patient_id, CalendarFeedRecord.revoked_at.is_(None)
    )
    return list(session.scalars(query))
