"""Writing the audit trail from services: same session, same transaction as the change."""

from __future__ import annotations

from sqlalchemy.orm import Session

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
    add_audit_event(session, actor=audit_actor, entry=entry, at=utc_now())


__all__ = ["AuditEntry", "record"]
