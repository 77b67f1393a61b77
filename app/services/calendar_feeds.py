"""Subscribable calendars (API.md §5.3): a secret, revocable address per patient.

Calendar apps cannot send a Bearer token, so the address itself is the secret: 256 random
bits, of which only the SHA-256 is stored (as for API tokens). Making a new address revokes
the patient's earlier one, so at most one works at a time; revoking answers 404 from then on.
The feed holds the current version of each of the patient's plans (with what earlier
versions removed, cancelled) and nothing that names the patient. Every fetch is audited
(`calendar_feed.fetch`, by the system on the feed's behalf, with the feed id); making and
revoking are audited as the clinician or client who did it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from app.db.models import CalendarFeedRecord, PatientRecord
from app.db.repositories import calendar_feeds as feed_repo
from app.db.repositories import patients as patient_repo
from app.db.repositories import plans as plan_repo
from app.services import audit
from app.services.audit import AuditEntry
from app.services.context import SYSTEM, Actor, utc_now
from app.services.errors import NotFound
from app.services.permissions import clinic_scope, require
from app.services.plan_exports import ExportSource

OPERATION = "calendar_feed.manage"


@dataclass(frozen=True, slots=True)
class Feed:
    """What a feed serves: each plan's current version, and the patient's language."""

    feed_id: int
    sources: tuple[ExportSource, ...]
    language: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_feed(session: Session, *, actor: Actor, patient_id: int) -> str:
    """A new secret for the patient's feed (the earlier one stops working); returns it once.

    Raises:
        Forbidden: the actor may not manage calendar feeds.
        NotFound: no such patient in the actor's clinic.
    """
    patient = _patient(session, actor, patient_id)
    revoked = _revoke_all(session, patient.id)
    token = secrets.token_urlsafe(32)
    record = CalendarFeedRecord(
        patient_id=patient.id, token_sha256=token_hash(token), created_by=actor.name,
        created_at=utc_now(),
    )  # fmt: skip
    feed_repo.add(session, record)
    detail = {"feed_id": record.id, "revoked": revoked}
    entry = AuditEntry(
        "calendar_feed.create", "patient", str(patient.id), patient.id, detail=detail
    )
    audit.record(session, actor, entry)
    session.commit()
    return token


def revoke_feed(session: Session, *, actor: Actor, patient_id: int) -> None:
    """Revokes the patient's feed address.

    Raises:
        Forbidden: the actor may not manage calendar feeds.
        NotFound: no such patient in the actor's clinic, or no active feed.
    """
    patient = _patient(session, actor, patient_id)
    revoked = _revoke_all(session, patient.id)
    if not revoked:
        raise NotFound(f"patient {patient_id} has no calendar feed")
    entry = AuditEntry(
        "calendar_feed.revoke",
        "patient",
        str(patient.id),
        patient.id,
        detail={"revoked": revoked},
    )
    audit.record(session, actor, entry)
    session.commit()


def read_feed(
    session: Session, *, token: str, request_id: str | None, client_ip: str | None
) -> Feed:
    """The feed behind a secret address; the fetch is audited.

    Raises:
        NotFound: no active feed has this secret.
    """
    record = feed_repo.by_token_hash(session, token_hash(token))
    if record is None:
        raise NotFound("no such calendar feed")
    patient = patient_repo.get(session, record.patient_id, clinic_id=None)
    if patient is None:  # the foreign key guarantees it
        raise NotFound("no such calendar feed")
    sources = []
    for plan, version in plan_repo.current_versions_for_patient(session, patient.id):
        earlier = tuple(
            v for v in plan_repo.versions(session, plan.id) if v.number < version.number
        )
        sources.append(ExportSource(plan=plan, version=version, patient=patient, earlier=earlier))
    actor = replace(SYSTEM, name="calendar-feed", request_id=request_id, client_ip=client_ip)
    entry = AuditEntry(
        "calendar_feed.fetch", "patient", str(patient.id), patient.id,
        detail={"feed_id": record.id, "plans": [s.plan.id for s in sources]},
    )  # fmt: skip
    audit.record(session, actor, entry)
    session.commit()
    return Feed(record.id, tuple(sources), patient.preferred_language)


def _patient(session: Session, actor: Actor, patient_id: int) -> PatientRecord:
    require(actor, OPERATION)
    patient = patient_repo.get(session, patient_id, clinic_id=clinic_scope(actor))
    if patient is None:
        raise NotFound(f"patient {patient_id} not found")
    return patient


def _revoke_all(session: Session, patient_id: int) -> list[int]:
    now = utc_now()
    revoked = []
    for feed in feed_repo.active_for_patient(session, patient_id):
        feed.revoked_at = now
        revoked.append(feed.id)
    session.flush()
    return revoked
