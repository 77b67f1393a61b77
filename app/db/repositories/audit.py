"""Audit rows are only ever added, in the caller's transaction (so a rollback takes them too)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord


@dataclass(frozen=True, slots=True)
class AuditEntry:
    action: str
    entity_type: str
    entity_id: str | None = None
    patient_id: int | None = None
    old_version: int | None = None
    new_version: int | None = None
    reason: str | None = None
    detail: dict[str, Any] | None = None
    outcome: str = "success"


@dataclass(frozen=True, slots=True)
class AuditActor:
    kind: str
    id: int | None
    name: str
    role: str | None
    request_id: str | None
    client_ip: str | None


def add_audit_event(
    session: Session, *, actor: AuditActor, entry: AuditEntry, at: datetime
) -> AuditEventRecord:
    record = AuditEventRecord(
        occurred_at=at,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        actor_role=actor.role,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        patient_id=entry.patient_id,
        old_version=entry.old_version,
        new_version=entry.new_version,
        reason=entry.reason,
        detail=entry.detail,
        request_id=actor.request_id,
        client_ip=actor.client_ip,
        outcome=entry.outcome,
    )
    session.add(record)
    session.flush()
    return record
