"""Queries of the protocol impact report and of the plans an approval changes (issue 17).

The report reads every open plan of a clinic: columns only (no ORM objects), streamed in
batches, so 100,000 plans cost their JSON text and no more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVarTuple

from sqlalchemy import Select, insert, select
from sqlalchemy.orm import Session

from app.db.models import (
    PatientRecord,
    PlanProtocolReviewRecord,
    PlanRecord,
    PlanVersionRecord,
    ProtocolVersionRecord,
)

BATCH = 1000
Columns = TypeVarTuple("Columns")
OPEN_STATES = ("active", "on_hold")


@dataclass(frozen=True, slots=True)
class StoredPlan:
    """An open plan's current version as stored: its input and result, canonical JSON."""

    plan_id: int
    patient_id: int
    version: int
    input_json: str
    plan_json: str


@dataclass(frozen=True, slots=True)
class ReviewFlag:
    """An open plan's current version that an approved protocol version changes."""

    plan_id: int
    plan_version: int
    protocol_id: str
    protocol_version: int
    differs_on: date
    created_at: datetime


def open_plans(
    session: Session, clinic_id: int | None, ids: Sequence[int] | None = None
) -> Iterator[StoredPlan]:
    """Every open plan's current version (of one clinic; every clinic for None; only those
    of ``ids`` when given), by plan id, read in batches of ``BATCH`` rows."""
    query = _open(
        select(
            PlanRecord.id, PlanRecord.patient_id, PlanVersionRecord.number,
            PlanVersionRecord.input_json, PlanVersionRecord.plan_json,
        ).join(PlanVersionRecord, PlanVersionRecord.plan_id == PlanRecord.id),
        clinic_id,
    ).where(PlanVersionRecord.number == PlanRecord.current_version)  # fmt: skip
    if ids is not None:
        query = query.where(PlanRecord.id.in_(ids))
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        yield StoredPlan(*row)


def open_plan_ids(session: Session, clinic_id: int | None) -> list[int]:
    """The ids of the plans ``open_plans`` reads, in the same order (a few bytes each: what
    a scan's worker processes are handed, to read the rows themselves)."""
    return list(session.scalars(_open(select(PlanRecord.id), clinic_id)))


def _open(query: Select[*Columns], clinic_id: int | None) -> Select[*Columns]:
    query = (
        query.join(PatientRecord, PatientRecord.id == PlanRecord.patient_id)
        .where(PlanRecord.state.in_(OPEN_STATES), PatientRecord.archived_at.is_(None))
        .order_by(PlanRecord.id)
    )
    if clinic_id is not None:
        query = query.where(PatientRecord.clinic_id == clinic_id)
    return query


def add_review_flags(
    session: Session, rows: Iterable[tuple[int, int, date]], protocol_version_id: int,
    at: datetime,
) -> None:  # fmt: skip
    """One row per (plan, plan version, first differing day), in one multi-row INSERT."""
    values = [
        {"plan_id": plan_id, "plan_version": version, "protocol_version_id": protocol_version_id,
         "differs_on": differs_on, "created_at": at}
        for plan_id, version, differs_on in rows
    ]  # fmt: skip
    if values:
        session.execute(insert(PlanProtocolReviewRecord), values)


def review_flags(session: Session, plan_ids: list[int]) -> list[ReviewFlag]:
    """The review rows of these plans (any version), oldest first."""
    query = (
        select(
            PlanProtocolReviewRecord.plan_id, PlanProtocolReviewRecord.plan_version,
            ProtocolVersionRecord.protocol_id, ProtocolVersionRecord.version,
            PlanProtocolReviewRecord.differs_on, PlanProtocolReviewRecord.created_at,
        )
        .join(
            ProtocolVersionRecord,
            ProtocolVersionRecord.id == PlanProtocolReviewRecord.protocol_version_id,
        )
        .where(PlanProtocolReviewRecord.plan_id.in_(plan_ids))
        .order_by(PlanProtocolReviewRecord.id)
    )  # fmt: skip
    return [ReviewFlag(*row) for row in session.execute(query)]
