"""Writing the audit trail from services: same session, same transaction as the change."""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session

from app.db.repositories import patients as patient_repo
from app.db.repositories.audit import AuditActor, AuditEntry, add_audit_event
from app.services.context import Actor, utc_now


def record(session: Session, actor: Actor, entry: AuditEntry) -> None:
    audit_actor = AuditActor(
        kind=actor.kind,
        id=actor.id,
        name=actor.name,
        role=actor.role,
        request_id=actor.request_id,
        client_ip=actor.client_ip,
    )
    clinic_id = row_clinic(session, actor, entry)
    if clinic_id != entry.clinic_id:
        entry = dataclasses.replace(entry, clinic_id=clinic_id)
    add_audit_event(session, actor=audit_actor, entry=entry, at=utc_now())


def row_clinic(session: Session, actor: Actor, entry: AuditEntry) -> int | None:
    """The clinic whose admins review the row (issue 13): the one the service named (the
    user, token or clinic an admin action concerns), else the actor's (a user or token only
    ever reaches its own clinic's records), else the patient's (the system and EHRs act
    for any clinic), else none."""
    if entry.clinic_id is not None:
        return entry.clinic_id
    if actor.clinic_id is not None:
        return actor.clinic_id
    if entry.patient_id is not None:
        patient = patient_repo.get(session, entry.patient_id, clinic_id=None)
        return patient.clinic_id if patient is not None else None
    return None


__all__ = ["AuditEntry", "record"]
