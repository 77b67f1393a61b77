"""Reading a stored plan version to print it: one audited read per printed document.

A printout carries patient data out of the building, so each one is recorded like any other
read of patient data, as its own action ``plan.print`` with what was produced in ``detail``
(document, format, language, version). Only roles allowed ``plan.print`` may print, and only
their own clinic's plans (``permissions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import (
    PatientRecord,
    PlanRecord,
    PlanReviewRecord,
    PlanVersionRecord,
    PumpRefillRecord,
)
from app.db.repositories import patients as patient_repo
from app.db.repositories import plans as plan_repo
from app.db.repositories import users as user_repo
from app.services import audit
from app.services.audit import AuditEntry
from app.services.context import Actor
from app.services.errors import NotFound
from app.services.permissions import clinic_scope, require


@dataclass(frozen=True, slots=True)
class PlanDocumentSource:
    """Everything a document of one version needs, loaded (templates never query)."""

    patient: PatientRecord
    plan: PlanRecord
    version: PlanVersionRecord
    # The pump's last recorded refill (intrathecal titrations): the pump card prints it.
    last_refill: PumpRefillRecord | None = None
    # The pharmacist's reviews of this version, oldest first (the clinician summary shows them).
    reviews: tuple[PlanReviewRecord, ...] = ()
    prescriber: str = ""  # how the version's author is named: display name and title

    @property
    def superseded(self) -> bool:
        return self.version.number != self.plan.current_version


def read_plan_version_for_document(
    session: Session,
    *,
    actor: Actor,
    plan_id: int,
    version: int | None,
    document: str,
    language: str | None = None,
    detail: dict[str, Any] | None = None,
) -> PlanDocumentSource:
    """The plan, the asked-for version (the current one by default) and its patient.

    The audit row names the language printed: the one asked for, else the patient's own.

    Raises:
        Forbidden: the actor may not print plans.
        NotFound: no such plan (in the actor's clinic), or no such version of it.
    """
    require(actor, "plan.print")
    clinic_id = clinic_scope(actor)
    record = plan_repo.get(session, plan_id, clinic_id=clinic_id)
    if record is None:
        raise NotFound(f"plan {plan_id} not found")
    number = record.current_version if version is None else version
    stored = plan_repo.version(session, plan_id, number)
    if stored is None:
        raise NotFound(f"version {number} of plan {plan_id} not found")
    patient = patient_repo.get(session, record.patient_id, clinic_id=clinic_id)
    if patient is None:  # the foreign key forbids it; a clear error if it ever happens
        raise NotFound(f"patient of plan {plan_id} not found")
    entry = AuditEntry(
        "plan.print",
        "plan",
        str(record.id),
        record.patient_id,
        detail={
            "document": document,
            "version": number,
            "language": language or patient.preferred_language,
            **(detail or {}),
        },
    )
    last_refill = None
    if record.plan_type == "itb_titration":
        query = (
            select(PumpRefillRecord)
            .where(PumpRefillRecord.plan_id == record.id)
            .order_by(PumpRefillRecord.filled_on.desc(), PumpRefillRecord.id.desc())
        )
        last_refill = session.scalars(query).first()
    reviews = tuple(r for r in plan_repo.reviews(session, record.id) if r.version_number == number)
    prescriber = user_repo.display_names(session, [stored.created_by]).get(
        stored.created_by, stored.created_by
    )
    audit.record(session, actor, entry)
    session.commit()
    return PlanDocumentSource(
        patient=patient,
        plan=record,
        version=stored,
        last_refill=last_refill,
        reviews=reviews,
        prescriber=prescriber,
    )
