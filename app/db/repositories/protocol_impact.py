"""Queries of the protocol impact report and of the plans an approval changes (issue 17).

The report reads every open plan of a clinic: columns only (no ORM objects), streamed in
batches, so 100,000 plans cost their JSON text and no more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.db.models import (
    PatientRecord,
    PlanProtocolReviewRecord,
    PlanRecord,
    PlanVersionRecord,
    ProtocolVersionRecord,
)

BATCH = 1000
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


def open_plans(session: Session, clinic_id: int | None) -> Iterator[StoredPlan]:
    """Every open plan's current version (of one clinic; every clinic for None), by plan id,
    read in batches of ``BATCH`` rows."""
    query = (
        select(
            PlanRecord.id, PlanRecord.patient_id, PlanVersionRecord.number,
            PlanVersionRecord.input_json, PlanVersionRecord.plan_json,
        )
        .join(PlanVersionRecord, PlanVersionRecord.plan_id == PlanRecord.id)
        .join(PatientRecord, PatientRecord.id == PlanRecord.patient_id)
        .where(
            PlanRecord.state.in_(OPEN_STATES),
            PlanVersionRecord.number == PlanRecord.current_version,
            PatientRecord.archived_at.is_(None),
        )
        .order_by(PlanRecord.id)
        .execution_options(yield_per=BATCH)
    )  # fmt: skip
    if clinic_id is not None:
        query = query.where(PatientRecord.clinic_id == clinic_id)
    for row in session.execute(query):
        yield StoredPlan(*row)


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
