"""Reading one stored plan version, with its patient, for an export (FHIR, iCalendar).

An export hands patient data to another system, so it is recorded as its own audit event
(`plan.export`, with the format and the version), not as an ordinary page view. Only roles
and scopes allowed `plan.export` may export, and only their own clinic's plans.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db.models import PatientRecord, PlanRecord, PlanVersionRecord
from app.db.repositories import patients as patient_repo
from app.db.repositories import plans as plan_repo
from app.db.repositories import users as user_repo
from app.services import audit
from app.services.audit import AuditEntry
from app.services.context import Actor
from app.services.errors import NotFound
from app.services.permissions import clinic_scope, require

EXPORT_FORMATS = frozenset({"fhir", "ical"})


@dataclass(frozen=True, slots=True)
class ExportSource:
    """Everything an export is built from; the version is immutable, the plan holds the state."""

    plan: PlanRecord
    version: PlanVersionRecord
    patient: PatientRecord
    # Every version saved before this one, oldest first: a revision's export names the order
    # it replaces (FHIR priorPrescription) and cancels the events it removed (iCalendar).
    earlier: tuple[PlanVersionRecord, ...] = ()

    @property
    def previous(self) -> PlanVersionRecord | None:
        return self.earlier[-1] if self.earlier else None

    prescriber: str = ""  # the version's author as named on prints (display name and title)

    @property
    def superseded(self) -> bool:
        return self.version.number != self.plan.current_version


def read_plan_for_export(
    session: Session, *, actor: Actor, plan_id: int, version: int | None, export_format: str
) -> ExportSource:
    """The plan at `version` (the current one when None) and its patient; the read is audited.

    Raises:
        Forbidden: the actor may not export plans.
        NotFound: no such plan (in the actor's clinic), or no such version of it.
    """
    if export_format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {export_format!r}")
    require(actor, "plan.export")
    clinic_id = clinic_scope(actor)
    record = plan_repo.get(session, plan_id, clinic_id=clinic_id)
    if record is None:
        raise NotFound(f"plan {plan_id} not found")
    number = record.current_version if version is None else version
    every = plan_repo.versions(session, plan_id)
    stored = next((v for v in every if v.number == number), None)
    if stored is None:
        raise NotFound(f"plan {plan_id} has no version {number}")
    earlier = tuple(v for v in every if v.number < number)
    patient = patient_repo.get(session, record.patient_id, clinic_id=clinic_id)
    if patient is None:  # the foreign key guarantees it
        raise NotFound(f"patient {record.patient_id} not found")
    prescriber = user_repo.display_names(session, [stored.created_by]).get(
        stored.created_by, stored.created_by
    )
    audit.record(
        session,
        actor,
        AuditEntry(
            "plan.export",
            "plan",
            str(record.id),
            record.patient_id,
            detail={"format": export_format, "version": number},
        ),
    )
    session.commit()
    return ExportSource(
        plan=record, version=stored, patient=patient, earlier=earlier, prescriber=prescriber
    )
