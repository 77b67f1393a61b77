"""The clinician's worklist: what is due in the actor's clinic, by date (API.md §5.2).

Kinds: `review_due` (the six-week review of an oral titration with no observation since),
`refill_due` (the refill window of an intrathecal pump's last recorded refill),
`awaiting_review` (a current version no pharmacist has reviewed), `on_hold` (plans on
hold), `stop_due` (the stop day of an oral taper), `protocol_updated` (an approved protocol
version changes the schedule of the plan's current version: stored with the approval,
`services/protocol_impact.py`; due on the approval's day, gone once a revision adds a version).
Only open plans (active or on hold) count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import (
    ObservationRecord,
    PatientRecord,
    PlanRecord,
    PlanReviewRecord,
    PlanVersionRecord,
    PumpRefillRecord,
)
from app.db.repositories import protocol_impact as impact_repo
from app.services import audit
from app.services.audit import AuditEntry
from app.services.context import Actor
from app.services.permissions import clinic_scope, require
from app.services.plans import OPEN_STATES

KINDS = ("review_due", "refill_due", "awaiting_review", "on_hold", "stop_due", "protocol_updated")
DEFAULT_WITHIN_DAYS = 14
MAX_WITHIN_DAYS = 366
LABELS = {
    "oral_titration": "oral titration",
    "oral_taper": "oral taper",
    "itb_screening": "intrathecal screening",
    "itb_titration": "intrathecal titration",
}


@dataclass(frozen=True, slots=True)
class WorkItem:
    kind: str
    due_date: date
    patient_id: int
    plan_id: int
    text: str
    patient_name: str


def worklist(
    session: Session, *, actor: Actor, today: date, within_days: int = DEFAULT_WITHIN_DAYS,
    kinds: tuple[str, ...] = KINDS,
) -> list[WorkItem]:  # fmt: skip
    """Items due up to `today + within_days` (overdue ones included), oldest due first."""
    require(actor, "plan.read")
    clinic_id = clinic_scope(actor)
    horizon = today + timedelta(days=within_days)
    query = (
        select(PlanRecord, PlanVersionRecord, PatientRecord)
        .join(PlanVersionRecord, PlanVersionRecord.plan_id == PlanRecord.id)
        .join(PatientRecord, PatientRecord.id == PlanRecord.patient_id)
        .where(
            PlanRecord.state.in_(OPEN_STATES),
            PlanVersionRecord.number == PlanRecord.current_version,
            PatientRecord.archived_at.is_(None),
        )
    )
    if clinic_id is not None:
        query = query.where(PatientRecord.clinic_id == clinic_id)
    rows = list(session.execute(query))
    plan_ids = [plan.id for plan, _, _ in rows]
    reviewed = _reviewed_versions(session, plan_ids)
    last_observed = _last_observations(session, plan_ids)
    refills = _last_refills(session, plan_ids)
    protocol_reviews = impact_repo.review_flags(session, plan_ids)
    items: list[WorkItem] = []
    for plan, version, patient in rows:
        name = f"{patient.family_name}, {patient.given_name}"
        label = f"{LABELS.get(plan.plan_type, plan.plan_type)} plan {plan.id}"

        def add(kind: str, due: date, text: str) -> None:
            if kind in kinds and due <= horizon:
                items.append(WorkItem(kind, due, patient.id, plan.id, text, name))  # noqa: B023

        milestones = json.loads(version.plan_json).get("milestones") or []
        for milestone in milestones:
            due = date.fromisoformat(milestone["date"])
            if milestone["kind"] == "review" and plan.plan_type == "oral_titration":
                seen = last_observed.get(plan.id)
                if seen is None or seen < due:
                    add("review_due", due, f"Six-week review due: {label}")
            if milestone["kind"] == "stop" and plan.plan_type == "oral_taper":
                add("stop_due", due, f"Taper stops: {label}")
        if (plan.id, version.number) not in reviewed:
            add("awaiting_review", version.created_at.date(),
                f"Version {version.number} awaits a pharmacist's review: {label}")  # fmt: skip
        if plan.state == "on_hold":
            add("on_hold", plan.updated_at.date(), f"On hold: {label}")
        refill = refills.get(plan.id)
        if refill is not None:
            add("refill_due", refill.window_start,
                f"Pump refill due {refill.window_start.isoformat()} to "
                f"{refill.window_end.isoformat()} (alarm {refill.alarm_date.isoformat()}): "
                f"{label}")  # fmt: skip
    current = {plan.id: (version.number, patient, plan) for plan, version, patient in rows}
    for flag in protocol_reviews:
        number, patient, plan = current[flag.plan_id]
        if flag.plan_version == number and "protocol_updated" in kinds:
            label = f"{LABELS.get(plan.plan_type, plan.plan_type)} plan {plan.id}"
            items.append(WorkItem(
                "protocol_updated", flag.created_at.date(), patient.id, plan.id,
                f"{flag.protocol_id} version {flag.protocol_version} changes the "
                f"schedule from {flag.differs_on.isoformat()}: {label}",
                f"{patient.family_name}, {patient.given_name}",
            ))  # fmt: skip
    items.sort(key=lambda i: (i.due_date, KINDS.index(i.kind), i.plan_id))
    audit.record(
        session, actor,
        AuditEntry("worklist.read", "clinic", str(clinic_id), detail={"items": len(items)}),
    )  # fmt: skip
    session.commit()
    return items


def review_queue(session: Session, *, actor: Actor, today: date) -> list[WorkItem]:
    """The pharmacist's home: every open plan whose current version awaits review."""
    return worklist(
        session, actor=actor, today=today, within_days=MAX_WITHIN_DAYS,
        kinds=("awaiting_review",),
    )  # fmt: skip


def _reviewed_versions(session: Session, plan_ids: list[int]) -> set[tuple[int, int]]:
    query = select(PlanReviewRecord.plan_id, PlanReviewRecord.version_number).where(
        PlanReviewRecord.plan_id.in_(plan_ids)
    )
    return {(plan_id, number) for plan_id, number in session.execute(query)}


def _last_observations(session: Session, plan_ids: list[int]) -> dict[int, date]:
    query = (
        select(ObservationRecord.plan_id, func.max(ObservationRecord.observed_on))
        .where(ObservationRecord.plan_id.in_(plan_ids))
        .group_by(ObservationRecord.plan_id)
    )
    return {plan_id: observed for plan_id, observed in session.execute(query)}


def _last_refills(session: Session, plan_ids: list[int]) -> dict[int, PumpRefillRecord]:
    query = (
        select(PumpRefillRecord)
        .where(PumpRefillRecord.plan_id.in_(plan_ids))
        .order_by(PumpRefillRecord.filled_on, PumpRefillRecord.id)
    )
    return {refill.plan_id: refill for refill in session.scalars(query)}
