"""Plan queries. Versions are only ever added."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import (
    IdempotencyKeyRecord,
    PatientRecord,
    PlanRecord,
    PlanReviewRecord,
    PlanVersionRecord,
)
from app.db.row_ids import is_possible_row_id


def get(session: Session, plan_id: int, *, clinic_id: int | None) -> PlanRecord | None:
    """The plan if its patient belongs to `clinic_id` (None for another clinic's plan, as for
    a missing one). Versions and reviews are read by plan id only after this check."""
    if not is_possible_row_id(plan_id):
        return None
    if clinic_id is None:
        return session.get(PlanRecord, plan_id)
    query = (
        select(PlanRecord)
        .join(PatientRecord, PatientRecord.id == PlanRecord.patient_id)
        .where(PlanRecord.id == plan_id, PatientRecord.clinic_id == clinic_id)
    )
    return session.scalars(query).first()


def add(session: Session, record: PlanRecord | PlanVersionRecord | PlanReviewRecord) -> None:
    session.add(record)
    session.flush()


def version(session: Session, plan_id: int, number: int) -> PlanVersionRecord | None:
    if not (is_possible_row_id(plan_id) and is_possible_row_id(number)):
        return None
    query = select(PlanVersionRecord).where(
        PlanVersionRecord.plan_id == plan_id, PlanVersionRecord.number == number
    )
    return session.scalars(query).first()


def versions(session: Session, plan_id: int) -> list[PlanVersionRecord]:
    query = (
        select(PlanVersionRecord)
        .where(PlanVersionRecord.plan_id == plan_id)
        .order_by(PlanVersionRecord.number)
    )
    return list(session.scalars(query))


def current_versions_for_patient(
    session: Session, patient_id: int
) -> list[tuple[PlanRecord, PlanVersionRecord]]:
    query = (
        select(PlanRecord, PlanVersionRecord)
        .join(PlanVersionRecord, PlanVersionRecord.plan_id == PlanRecord.id)
        .where(
            PlanRecord.patient_id == patient_id,
            PlanVersionRecord.number == PlanRecord.current_version,
        )
        .order_by(PlanRecord.id.desc())
    )
    return [(plan, version) for plan, version in session.execute(query)]


def lock_patient(session: Session, patient_id: int) -> None:
    """Lock the patient's row until the commit (FOR UPDATE on PostgreSQL; SQLite's writes
    already take turns), so two plans saved for one patient are checked one after the other."""
    session.execute(
        select(PatientRecord.id).where(PatientRecord.id == patient_id).with_for_update()
    )


def open_plans(
    session: Session, patient_id: int, *, unit: str, states: tuple[str, ...]
) -> list[PlanRecord]:
    query = (
        select(PlanRecord)
        .where(
            PlanRecord.patient_id == patient_id,
            PlanRecord.unit == unit,
            PlanRecord.state.in_(states),
        )
        .order_by(PlanRecord.id)
    )
    return list(session.scalars(query))


def get_idempotency_key(session: Session, client: str, key: str) -> IdempotencyKeyRecord | None:
    query = select(IdempotencyKeyRecord).where(
        IdempotencyKeyRecord.client == client, IdempotencyKeyRecord.key == key
    )
    return session.scalars(query).first()


def add_idempotency_key(
    session: Session, client: str, key: str, fingerprint: str, plan_id: int, at: datetime
) -> None:
    session.add(
        IdempotencyKeyRecord(
            client=client, key=key, request_sha256=fingerprint, plan_id=plan_id, created_at=at
        )
    )
    session.flush()


def reviews(session: Session, plan_id: int) -> list[PlanReviewRecord]:
    query = (
        select(PlanReviewRecord)
        .where(PlanReviewRecord.plan_id == plan_id)
        .order_by(PlanReviewRecord.id)
    )
    return list(session.scalars(query))
