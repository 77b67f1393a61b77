"""Audit rows are only ever added, in the caller's transaction (so a rollback takes them too).

Each row is linked into the hash chain (app/db/audit_chain.py). The writer locks the chain
head first, takes the next id from it and stores the previous hash, so concurrent writers
queue on one row (PostgreSQL: SELECT … FOR UPDATE; SQLite: BEGIN IMMEDIATE already
serialises writers) and ids follow chain order with no gaps.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Text,
    and_,
    cast,
    not_,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from app.db.audit_chain import head_seal, installed_keys, keyed_chain_hash
from app.db.models import (
    ApiTokenRecord,
    AuditChainHeadRecord,
    AuditEventRecord,
    PatientRecord,
    UserRecord,
)

AUDIT_TABLE = AuditEventRecord.__table__
HEAD_TABLE = AuditChainHeadRecord.__table__
CHAIN_HEAD_ID = 1


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
    # The clinic the row belongs to; services.audit.record fills it from the actor or the
    # patient when the service leaves it empty.
    clinic_id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditActor:
    kind: str
    id: int | None
    name: str
    role: str | None
    request_id: str | None
    client_ip: str | None


@dataclass(frozen=True, slots=True)
class ChainHead:
    last_id: int
    last_hash: str
    legacy_last_id: int
    unkeyed_last_id: int = 0
    seal: str | None = None


def add_audit_event(
    session: Session, *, actor: AuditActor, entry: AuditEntry, at: datetime
) -> AuditEventRecord:
    key = installed_keys().current
    head = _lock_chain_head(session)
    record = AuditEventRecord(
        id=head.last_id + 1,
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
        clinic_id=entry.clinic_id,
        key_id=key.key_id,
        prev_hash=head.last_hash,
    )
    record.row_hash = keyed_chain_hash(key, head.last_hash, _hashed_fields(record))
    seal = head_seal(key, record.id, record.row_hash, head.unkeyed_last_id)
    session.add(record)
    session.flush()
    session.execute(
        update(AuditChainHeadRecord)
        .where(AuditChainHeadRecord.id == CHAIN_HEAD_ID)
        .values(last_id=record.id, last_hash=record.row_hash, seal=seal)
        .execution_options(synchronize_session=False)
    )
    return record


def read_chain_head(session: Session) -> ChainHead:
    row = session.execute(select(HEAD_TABLE).where(HEAD_TABLE.c.id == CHAIN_HEAD_ID)).one()
    return _head(row)


def iter_chain_rows(session: Session, *, batch_size: int = 1000) -> Iterator[Mapping[str, Any]]:
    """Every audit row in id order, as the driver returns it (no type processing), so a
    tampered value that no longer parses reaches the verifier instead of failing the read."""
    columns = [type_coerce(column, Text()).label(column.name) for column in AUDIT_TABLE.columns]
    after = None
    while True:
        query = select(*columns).order_by(AUDIT_TABLE.c.id).limit(batch_size)
        if after is not None:
            query = query.where(AUDIT_TABLE.c.id > after)
        rows = session.execute(query).mappings().all()
        for row in rows:
            yield {str(name): value for name, value in row.items()}
        if len(rows) < batch_size:
            return
        after = rows[-1]["id"]


def _lock_chain_head(session: Session) -> ChainHead:
    query = select(HEAD_TABLE).where(HEAD_TABLE.c.id == CHAIN_HEAD_ID).with_for_update()
    row = session.execute(query).one()
    return _head(row)


def _head(row: Any) -> ChainHead:
    return ChainHead(
        row.last_id, row.last_hash, row.legacy_last_id, row.unkeyed_last_id or 0, row.seal
    )


def _hashed_fields(record: AuditEventRecord) -> dict[str, Any]:
    return {column.key: getattr(record, column.key) for column in AUDIT_TABLE.columns}


# --- review: filtered, newest first ---------------------------------------------------------

CATEGORIES = ("all", "overrides", "failed_logins", "rate_limits", "phi_reads", "writes")
# Reads of patient data are named <entity>.<verb> with one of these verbs (patient.read,
# plan.list, plan.print, plan.export, ...); any other patient/plan/user/token/clinic action
# changes something.
_READ_VERBS = ("read", "search", "list", "print", "export", "history", "diff")
_PHI_ENTITIES = ("patient.", "plan.")
_WRITE_ENTITIES = ("patient.", "plan.", "user.", "token.", "clinic.")


@dataclass(frozen=True, slots=True)
class AuditQuery:
    patient_id: int | None = None
    actor_name: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    category: str = "all"
    # Only rows of this clinic (an admin's review); None: every row (a system admin).
    clinic_id: int | None = None


def search_events(
    session: Session, query: AuditQuery, *, limit: int, before_id: int | None = None
) -> list[AuditEventRecord]:
    statement = select(AuditEventRecord).where(*_conditions(query))
    if before_id is not None:
        statement = statement.where(AuditEventRecord.id < before_id)
    # Ids follow the chain, which is the order of commits: newest first is id descending.
    statement = statement.order_by(AuditEventRecord.id.desc()).limit(limit)
    return list(session.scalars(statement))


def _conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    event = AuditEventRecord
    conditions = [_category_condition(query.category)]
    if query.clinic_id is not None:
        conditions.append(_of_clinic(query.clinic_id))
    if query.patient_id is not None:
        conditions.append(event.patient_id == query.patient_id)
    if query.actor_name:
        conditions.append(event.actor_name == query.actor_name)
    if query.since is not None:
        conditions.append(event.occurred_at >= query.since)
    if query.until is not None:
        conditions.append(event.occurred_at < query.until)
    return conditions


def _category_condition(category: str) -> ColumnElement[bool]:
    action = AuditEventRecord.action
    is_read = or_(*(action.endswith(f".{verb}", autoescape=True) for verb in _READ_VERBS))
    conditions: dict[str, ColumnElement[bool]] = {
        "all": true(),
        "overrides": action == "plan.override",
        "failed_logins": action == "login.failure",
        "rate_limits": action.contains("rate_limit", autoescape=True),
        "phi_reads": and_(_starts_with_any(_PHI_ENTITIES), is_read),
        "writes": and_(_starts_with_any(_WRITE_ENTITIES), not_(is_read)),
    }
    if category not in conditions:
        raise ValueError(f"unknown audit category {category!r}")
    return conditions[category]


def _starts_with_any(prefixes: tuple[str, ...]) -> ColumnElement[bool]:
    action = AuditEventRecord.action
    return or_(*(action.startswith(prefix, autoescape=True) for prefix in prefixes))


def _of_clinic(clinic_id: int) -> ColumnElement[bool]:
    """Rows of one clinic. A row that names its clinic belongs to it; a row without one (those
    written before the column existed, issue 13) belongs to the clinic of its actor, of its
    patient, or of the user or token it concerns, so each clinic still sees its own history.
    Rows of no clinic at all (the system's own, unknown usernames) only system admins see."""
    event = AuditEventRecord
    users = select(UserRecord.id).where(UserRecord.clinic_id == clinic_id)
    tokens = select(ApiTokenRecord.id).where(ApiTokenRecord.clinic_id == clinic_id)
    patients = select(PatientRecord.id).where(PatientRecord.clinic_id == clinic_id)
    # entity_id is text: compare with the ids as text (PostgreSQL compares no text with int).
    user_ids = select(cast(UserRecord.id, String)).where(UserRecord.clinic_id == clinic_id)
    token_ids = select(cast(ApiTokenRecord.id, String)).where(ApiTokenRecord.clinic_id == clinic_id)
    attributed = or_(
        and_(event.actor_kind == "user", event.actor_id.in_(users)),
        and_(event.actor_kind == "token", event.actor_id.in_(tokens)),
        event.patient_id.in_(patients),
        and_(event.entity_type == "user", event.entity_id.in_(user_ids)),
        and_(event.entity_type == "api_token", event.entity_id.in_(token_ids)),
    )
    return or_(event.clinic_id == clinic_id, and_(event.clinic_id.is_(None), attributed))
