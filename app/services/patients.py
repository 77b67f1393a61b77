"""Patient use cases. Each call loads, checks, writes its audit row and commits once."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import PatientRecord
from app.db.repositories import patient_search
from app.db.repositories import patients as patient_repo
from app.db.repositories import users as user_repo
from app.db.repositories.patients import PatientPage
from app.domain.patients import FieldProblem, PatientFacts, find_patient_problems
from app.services import audit
from app.services.audit import AuditEntry
from app.services.context import Actor, utc_now
from app.services.errors import Conflict, InvalidInput, NotFound, StaleVersion
from app.services.permissions import clinic_scope, require
from app.services.reads import read_only
from app.services.versioning import lost_race_is_stale

MAX_PAGE_SIZE = 100


def create_patient(
    session: Session, *, actor: Actor, facts: PatientFacts, today: date
) -> PatientRecord:
    require(actor, "patient.create")
    _require_valid(facts, today)
    # The patient joins the creator's clinic; only the system (CLI, seeding) may fall back
    # to the default clinic.
    clinic_id = clinic_scope(actor) or user_repo.default_clinic_id(session)
    _require_unique_mrn(session, clinic_id, facts.mrn, patient_id=None)
    now = utc_now()
    record = PatientRecord(clinic_id=clinic_id, created_at=now, updated_at=now)
    patient_repo.apply_facts(record, facts)
    _flush_or_conflict(session, record)
    patient_search.replace_terms(session, record)
    audit.record(
        session,
        actor,
        AuditEntry("patient.create", "patient", str(record.id), record.id, None, record.version),
    )
    session.commit()
    return record


def update_patient(
    session: Session,
    *,
    actor: Actor,
    patient_id: int,
    expected_version: int,
    changes: dict[str, Any],
    today: date,
) -> PatientRecord:
    """Apply a partial change to the version the caller saw; anything else is a conflict."""
    require(actor, "patient.update")
    record = _load(session, actor, patient_id)
    if record.version != expected_version:
        raise StaleVersion(expected=expected_version, current=record.version)
    if record.archived_at is not None:
        raise Conflict("an archived patient cannot be edited")
    facts = dataclasses.replace(patient_repo.to_facts(record), **changes)
    _require_valid(facts, today)
    _require_unique_mrn(session, record.clinic_id, facts.mrn, patient_id=record.id)
    old_version = record.version
    patient_repo.apply_facts(record, facts)
    record.updated_at = utc_now()
    with lost_race_is_stale(session, expected=expected_version, current=_reread(record)):
        _flush_or_conflict(session, record)
    patient_search.replace_terms(session, record)
    audit.record(
        session,
        actor,
        AuditEntry(
            "patient.update",
            "patient",
            str(record.id),
            record.id,
            old_version,
            record.version,
            detail={"fields": sorted(changes)},
        ),
    )
    session.commit()
    return record


def archive_patient(
    session: Session, *, actor: Actor, patient_id: int, expected_version: int, reason: str
) -> PatientRecord:
    """Patients are never deleted; archiving hides them from the list and keeps everything."""
    require(actor, "patient.archive")
    if not reason.strip():
        raise InvalidInput((FieldProblem("reason", "Give a reason for archiving."),))
    record = _load(session, actor, patient_id)
    if record.version != expected_version:
        raise StaleVersion(expected=expected_version, current=record.version)
    if record.archived_at is not None:
        raise Conflict("the patient is already archived")
    old_version = record.version
    record.archived_at = utc_now()
    record.archive_reason = reason.strip()
    record.updated_at = record.archived_at
    with lost_race_is_stale(session, expected=expected_version, current=_reread(record)):
        session.flush()
    audit.record(
        session,
        actor,
        AuditEntry(
            "patient.archive",
            "patient",
            str(record.id),
            record.id,
            old_version,
            record.version,
            reason.strip(),
        ),
    )
    session.commit()
    return record


def read_patient(
    session: Session, *, actor: Actor, patient_id: int, operation: str = "patient.read"
) -> PatientRecord:
    """A read of patient data is itself recorded (HIPAA 'sensitive read').

    `operation` names what the page is for (the planner reads the patient for
    `plan.preview`), so a role that may not do it is refused before anything is read.
    """
    require(actor, operation)
    record = _load(session, actor, patient_id)
    audit.record(session, actor, AuditEntry("patient.read", "patient", str(record.id), record.id))
    session.commit()
    return record


def patient_for_preview(
    session: Session, *, actor: Actor, patient_id: int, operation: str = "plan.preview"
) -> PatientRecord:
    """The patient a live-preview fragment plans with, read without an audit row.

    The planner page that holds the fragment recorded the read (`patient.read`) when it was
    opened; the fragments swapped into it while the clinician types show a computed plan, no
    patient data that page did not already show (ARCHITECTURE.md, "Audit granularity").
    Access is checked exactly as for a recorded read. A plain read: it takes no write lock.
    """
    require(actor, operation)
    with read_only(session):
        return _load(session, actor, patient_id)


def search_patients(
    session: Session,
    *,
    actor: Actor,
    text: str,
    limit: int,
    after: tuple[str, int] | None,
    include_archived: bool = False,
) -> PatientPage:
    require(actor, "patient.search")
    page = patient_repo.search(
        session,
        clinic_id=clinic_scope(actor),
        text=text,
        limit=max(1, min(limit, MAX_PAGE_SIZE)),
        after=after,
        include_archived=include_archived,
    )
    # Search results show names and MRNs, so the read is recorded (ids only, never the query).
    audit.record(
        session,
        actor,
        AuditEntry("patient.search", "patient", None, detail={"ids": [p.id for p in page.items]}),
    )
    session.commit()
    return page


def _load(session: Session, actor: Actor, patient_id: int) -> PatientRecord:
    # Another clinic's patient is "not found", never "forbidden": that would confirm it exists.
    record = patient_repo.get(session, patient_id, clinic_id=clinic_scope(actor))
    if record is None:
        raise NotFound(f"patient {patient_id} not found")
    return record


def _reread(record: PatientRecord) -> Callable[[], int]:
    # After a rollback the record is expired: reading an attribute loads the stored row.
    return lambda: record.version


def _require_valid(facts: PatientFacts, today: date) -> None:
    problems = find_patient_problems(facts, today=today)
    if problems:
        raise InvalidInput(problems)


def _require_unique_mrn(
    session: Session, clinic_id: int, mrn: str, *, patient_id: int | None
) -> None:
    existing = patient_repo.get_by_mrn(session, clinic_id, mrn)
    if existing is not None and existing.id != patient_id:
        raise Conflict(f"MRN {mrn} is already in use")


def _flush_or_conflict(session: Session, record: PatientRecord) -> None:
    # The check above gives a clear message; the unique index still decides under races.
    try:
        patient_repo.add(session, record)
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("MRN is already in use") from exc
