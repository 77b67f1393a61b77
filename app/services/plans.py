"""Plan use cases: preview, save as version 1, revise, hold, resume, discontinue, review.

A saved version is never changed: a revision adds version n+1 pointing at n. Every state
change writes its audit rows (with the reason) in the same transaction as the change.
Every entry point checks the actor's permission first (`permissions.require`), then loads
the plan or patient within the actor's clinic, so another clinic's record is "not found".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import PatientRecord, PlanRecord, PlanReviewRecord, PlanVersionRecord
from app.db.repositories import patients as patient_repo
from app.db.repositories import plans as plan_repo
from app.domain import titration
from app.domain.patients import FieldProblem
from app.domain.titration.findings import Severity
from app.domain.titration.library import ProtocolSet
from app.domain.titration.model import Patient, PlanRequest
from app.domain.titration.plan import Plan, PlanStatus
from app.services import audit
from app.services.audit import AuditEntry
from app.services.context import Actor, stored_kind, utc_now
from app.services.errors import (
    Conflict,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    SelfReview,
    StaleVersion,
)
from app.services.permissions import clinic_scope, require
from app.services.plan_codec import canonical_json, content_sha256
from app.services.reads import read_only
from app.services.versioning import lost_race_is_stale

# Builds the engine request once the patient's facts are known (stored plans take the
# patient from the record, never from the request body).
RequestFor = Callable[[Patient], PlanRequest]

# Free text on a plan: a review's note, and every reason (revision, hold, resume, discontinue,
# override). The API's schemas and the web forms take their limits from here; the service
# checks them too, for callers that skip either.
MAX_NOTE_LENGTH = 2000
MAX_REASON_LENGTH = 2000
# The operation (and audit action) of each state change, by the state it leads to.
STATE_OPERATIONS = {
    "on_hold": "plan.hold",
    "active": "plan.resume",
    "discontinued": "plan.discontinue",
}


# Plans a patient is on: one per route (oral, intrathecal) at a time (API.md §5.2).
OPEN_STATES = ("active", "on_hold")
REVIEW_OUTCOMES = ("approved", "query", "rejected")


@dataclass(frozen=True, slots=True)
class SaveOptions:
    acknowledged: tuple[str, ...] = ()
    idempotency_key: str | None = None
    request_fingerprint: str = ""
    # The open plan of the same route this one follows; it ends as `completed`.
    supersedes_plan_id: int | None = None
    # Why version 1 was made (a revision always has its own reason).
    reason: str | None = None
    # Runs in the same transaction just before the commit (e.g. the decision on an
    # observation that this save acts on).
    on_saved: Callable[[Session, PlanRecord, PlanVersionRecord], None] | None = None


def preview_plan(protocols: ProtocolSet, request: PlanRequest) -> Plan:
    """Compute without storing anything (no patient record, no audit: nothing is read)."""
    return titration.build_plan(request, protocols)


def create_plan(
    session: Session,
    *,
    actor: Actor,
    protocols: ProtocolSet,
    patient_id: int,
    request_for: RequestFor,
    options: SaveOptions,
) -> tuple[PlanRecord, PlanVersionRecord, bool]:
    """Save a new plan as version 1. Returns (plan, version, created) — created is False when
    an Idempotency-Key replay returned the plan the first call made."""
    require(actor, "plan.create")
    replay = _replayed(session, actor, options)
    if replay is not None:
        return (*replay, False)
    patient = _load_patient(session, actor, patient_id)
    plan_repo.lock_patient(session, patient.id)  # two creates for one patient take turns
    replay = _replayed(session, actor, options)  # the turn before ours may have been a retry
    if replay is not None:
        return (*replay, False)
    request = request_for(patient_repo.to_engine_patient(patient))
    plan = titration.build_plan(request, protocols)
    _require_savable(actor, plan, options.acknowledged)
    if options.reason is not None:
        _require_reason(options.reason)
    superseded = _superseded_plan(session, actor, patient.id, plan.unit.value, options)
    now = utc_now()
    record = PlanRecord(
        patient_id=patient.id,
        plan_type=plan.plan_type.value,
        unit=plan.unit.value,
        state="active",
        current_version=1,
        created_at=now,
        created_by=actor.name,
        created_by_kind=stored_kind(actor),
        updated_at=now,
        supersedes_plan_id=superseded.id if superseded else None,
    )
    # The key's unique index decides a race between two requests with the same key; on
    # PostgreSQL the loser fails at the key's flush (after waiting for the winner's commit).
    try:
        plan_repo.add(session, record)
        version = _add_version(
            session, record, request, plan, actor, options, action="create",
            reason=options.reason.strip() if options.reason else None,
        )  # fmt: skip
        if superseded is not None:
            _complete(session, actor, superseded, record)
        if options.idempotency_key:
            plan_repo.add_idempotency_key(
                session,
                _client(actor),
                options.idempotency_key,
                options.request_fingerprint,
                record.id,
                now,
            )
        _audit_save(session, actor, record, version, plan, old_version=None)
        if options.on_saved is not None:
            options.on_saved(session, record, version)
        session.commit()
    except IntegrityError:  # a concurrent retry with the same key won the race
        session.rollback()
        replay = _replayed(session, actor, options)
        if replay is None:
            raise
        return (*replay, False)
    return record, version, True


def revise_plan(
    session: Session,
    *,
    actor: Actor,
    protocols: ProtocolSet,
    plan_id: int,
    expected_version: int,
    reason: str,
    request_for: RequestFor,
    options: SaveOptions,
) -> tuple[PlanRecord, PlanVersionRecord]:
    """Add version n+1; the old one stays, superseded. Only the version seen may be revised."""
    require(actor, "plan.revise")
    _require_reason(reason)
    record = _load_current(session, actor, plan_id, expected_version)
    if record.state in ("discontinued", "completed"):
        raise Conflict(f"a {record.state} plan cannot be revised; start a new plan")
    patient = _load_patient(session, actor, record.patient_id)
    request = request_for(patient_repo.to_engine_patient(patient))
    plan = titration.build_plan(request, protocols)
    if plan.plan_type.value != record.plan_type:
        raise InvalidInput(
            (
                FieldProblem(
                    "plan_type", "A revision keeps the plan type; start a new plan instead."
                ),
            )
        )
    _require_savable(actor, plan, options.acknowledged)
    old_version = record.current_version
    record.current_version = old_version + 1
    record.updated_at = utc_now()
    with lost_race_is_stale(session, expected=expected_version, current=_reread(record)):
        session.flush()
    version = _add_version(
        session, record, request, plan, actor, options, action="revise", reason=reason.strip()
    )
    _audit_save(session, actor, record, version, plan, old_version=old_version)
    if options.on_saved is not None:
        options.on_saved(session, record, version)
    session.commit()
    return record, version


def change_state(
    session: Session,
    *,
    actor: Actor,
    plan_id: int,
    expected_version: int | None,
    new_state: str,
    reason: str,
) -> tuple[PlanRecord, PlanVersionRecord]:
    """Hold, resume or discontinue. Discontinuing is final; every change needs a reason.
    Returns the plan and its current version (the change itself adds no version)."""
    require(actor, STATE_OPERATIONS[new_state])
    _require_reason(reason)
    record = _load_current(session, actor, plan_id, expected_version)
    allowed = {"on_hold": {"active"}, "active": {"on_hold"}, "discontinued": {"active", "on_hold"}}
    if record.state not in allowed[new_state]:
        raise Conflict(f"a plan that is {_words(record.state)} cannot become {_words(new_state)}")
    old_state = record.state
    record.state = new_state
    record.state_reason = reason.strip()
    record.updated_at = utc_now()
    with lost_race_is_stale(session, expected=expected_version, current=_reread(record)):
        session.flush()
    audit.record(
        session,
        actor,
        AuditEntry(
            STATE_OPERATIONS[new_state],
            "plan",
            str(record.id),
            record.patient_id,
            record.current_version,
            record.current_version,
            reason.strip(),
            {"from": old_state, "to": new_state},
        ),
    )
    current = plan_repo.version(session, record.id, record.current_version)
    # bandit B101: A stored invariant; narrows the type.
    assert current is not None  # nosec B101
    session.commit()
    return record, current


def read_plan(
    session: Session, *, actor: Actor, plan_id: int, operation: str = "plan.read"
) -> tuple[PlanRecord, list[PlanVersionRecord]]:
    """The plan and every version, oldest first; the read is recorded (it shows patient data).

    `operation` names what the page is for (the revision form reads the plan for
    `plan.revise`), so a role that may not do it is refused before anything is read.
    """
    require(actor, operation)
    record = _load_plan(session, actor, plan_id)
    versions = plan_repo.versions(session, plan_id)
    audit.record(session, actor, AuditEntry("plan.read", "plan", str(record.id), record.patient_id))
    session.commit()
    return record, versions


def plan_for_preview(
    session: Session, *, actor: Actor, plan_id: int
) -> tuple[PlanRecord, PatientRecord]:
    """The plan and patient a revision's live-preview fragment plans with, read without an
    audit row: the revision page that holds the fragment recorded both reads when it opened
    (see patients.patient_for_preview). A plain read: it takes no write lock."""
    require(actor, "plan.revise")
    with read_only(session):
        record = _load_plan(session, actor, plan_id)
        patient = _load_patient(session, actor, record.patient_id, allow_archived=True)
    return record, patient


def list_patient_plans(
    session: Session, *, actor: Actor, patient_id: int
) -> list[tuple[PlanRecord, PlanVersionRecord]]:
    """The patient's plans, newest first, each with its current version."""
    require(actor, "plan.read")
    _load_patient(session, actor, patient_id, allow_archived=True)
    plans = plan_repo.current_versions_for_patient(session, patient_id)
    audit.record(session, actor, AuditEntry("plan.list", "patient", str(patient_id), patient_id))
    session.commit()
    return plans


def review_plan(
    session: Session,
    *,
    actor: Actor,
    plan_id: int,
    expected_version: int,
    acknowledged: tuple[str, ...],
    note: str,
    outcome: str = "approved",
) -> PlanReviewRecord:
    """A pharmacist's review of the current version: every finding that is not merely
    informational must be acknowledged. Only the version the reviewer saw can be reviewed,
    and only once. The outcome is approved, query or rejected; a query or a rejection
    says why in the note."""
    require(actor, "plan.review")
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidInput((FieldProblem("note", f"At most {MAX_NOTE_LENGTH} characters."),))
    if outcome not in REVIEW_OUTCOMES:
        raise InvalidInput((FieldProblem("outcome", "Approved, query or rejected."),))
    if outcome != "approved" and not note.strip():
        raise InvalidInput((FieldProblem("note", "Say what the query or rejection is about."),))
    record = _load_current(session, actor, plan_id, expected_version)
    if record.state in ("discontinued", "completed"):
        raise Conflict(f"a {record.state} plan needs no review")
    version = plan_repo.version(session, record.id, record.current_version)
    # bandit B101: A stored invariant; narrows the type.
    assert version is not None  # nosec B101
    if _created_by(version, actor):
        raise SelfReview("a version cannot be reviewed by the user or client who created it")
    if any(r.version_number == version.number for r in plan_repo.reviews(session, record.id)):
        raise Conflict(f"version {version.number} has already been reviewed")
    _require_acknowledged(reviewable_findings(version), acknowledged)
    review = PlanReviewRecord(
        plan_id=record.id,
        plan_version_id=version.id,
        version_number=version.number,
        acknowledged=sorted(set(acknowledged)),
        note=note.strip() or None,
        reviewed_at=utc_now(),
        reviewed_by=actor.name,
        reviewed_by_role=actor.role,
        reviewed_by_kind=stored_kind(actor),
        reviewed_by_id=actor.id,
        outcome=outcome,
    )
    plan_repo.add(session, review)
    audit.record(
        session,
        actor,
        AuditEntry(
            "plan.review",
            "plan",
            str(record.id),
            record.patient_id,
            version.number,
            version.number,
            review.note,
            {"review_id": review.id, "acknowledged": review.acknowledged, "outcome": outcome},
        ),
    )
    session.commit()
    return review


def list_reviews(session: Session, *, actor: Actor, plan_id: int) -> list[PlanReviewRecord]:
    """Reviews of every version, oldest first. Shown beside the plan, whose read is audited."""
    require(actor, "plan.read")
    record = _load_plan(session, actor, plan_id)
    return plan_repo.reviews(session, record.id)


def reviewable_findings(version: PlanVersionRecord) -> tuple[str, ...]:
    """The finding codes of a version a review must acknowledge (all but info)."""
    findings = json.loads(version.plan_json).get("findings", [])
    return tuple(sorted({f["code"] for f in findings if f.get("severity") != Severity.INFO.value}))


def request_fingerprint(path: str, body: bytes) -> str:
    """What an Idempotency-Key is bound to besides its client: the path and the exact body.
    The same key on another path (another patient) or with another body is a 409."""
    return hashlib.sha256(path.encode() + b"\n" + body).hexdigest()


def _add_version(
    session: Session,
    record: PlanRecord,
    request: PlanRequest,
    plan: Plan,
    actor: Actor,
    options: SaveOptions,
    *,
    action: str,
    reason: str | None,
) -> PlanVersionRecord:
    previous = plan_repo.version(session, record.id, record.current_version - 1)
    input_json, plan_json = canonical_json(request), canonical_json(plan)
    version = PlanVersionRecord(
        plan_id=record.id,
        number=record.current_version,
        previous_version_id=previous.id if previous else None,
        action=action,
        reason=reason,
        status=plan.status.value,
        input_json=input_json,
        plan_json=plan_json,
        acknowledged=sorted(set(options.acknowledged)),
        content_sha256=content_sha256(input_json=input_json, plan_json=plan_json),
        engine_version=plan.engine_version,
        created_at=utc_now(),
        created_by=actor.name,
        created_by_role=actor.role,
        created_by_kind=stored_kind(actor),
        created_by_id=actor.id,
    )
    plan_repo.add(session, version)
    return version


def _audit_save(
    session: Session,
    actor: Actor,
    record: PlanRecord,
    version: PlanVersionRecord,
    plan: Plan,
    *,
    old_version: int | None,
) -> None:
    action = "plan.create" if old_version is None else "plan.revise"
    detail = {"content_sha256": version.content_sha256, "status": version.status}
    audit.record(
        session,
        actor,
        AuditEntry(
            action,
            "plan",
            str(record.id),
            record.patient_id,
            old_version,
            version.number,
            version.reason,
            detail,
        ),
    )
    # Overrides and acknowledgements are reported on their own (RELIABILITY A6 review report).
    for override in plan.overrides:
        audit.record(
            session,
            actor,
            AuditEntry(
                "plan.override",
                "plan",
                str(record.id),
                record.patient_id,
                old_version,
                version.number,
                override.reason,
                {"code": override.code},
            ),
        )
    for code in version.acknowledged:
        audit.record(
            session,
            actor,
            AuditEntry(
                "plan.acknowledge",
                "plan",
                str(record.id),
                record.patient_id,
                old_version,
                version.number,
                None,
                {"code": code},
            ),
        )


def _require_savable(actor: Actor, plan: Plan, acknowledged: tuple[str, ...]) -> None:
    if plan.overrides:
        require(actor, "plan.override")
    too_long = [o.code for o in plan.overrides if len(o.reason) > MAX_REASON_LENGTH]
    if too_long:
        message = (
            f"Override reasons of at most {MAX_REASON_LENGTH} characters: {', '.join(too_long)}."
        )
        raise InvalidInput((FieldProblem("overrides", message),))
    if plan.status is PlanStatus.BLOCKED:
        blocks = sorted(f.code for f in plan.findings if f.severity is Severity.BLOCK)
        raise InvalidInput(
            (
                FieldProblem(
                    "overrides",
                    f"The plan is blocked by {', '.join(blocks)}: "
                    "override each block with a reason, or change the plan.",
                ),
            )
        )
    majors = {f.code for f in plan.findings if f.severity is Severity.MAJOR}
    missing = sorted(majors - set(acknowledged))
    if missing:
        raise InvalidInput(
            (
                FieldProblem(
                    "acknowledged", f"Acknowledge every major finding: {', '.join(missing)}."
                ),
            )
        )
    stray = sorted(set(acknowledged) - majors)
    if stray:
        raise InvalidInput(
            (
                FieldProblem(
                    "acknowledged", f"Not a major finding of this plan: {', '.join(stray)}."
                ),
            )
        )


def _require_acknowledged(findings: tuple[str, ...], acknowledged: tuple[str, ...]) -> None:
    missing = sorted(set(findings) - set(acknowledged))
    stray = sorted(set(acknowledged) - set(findings))
    problems = []
    if missing:
        problems.append(
            FieldProblem("acknowledged", f"Acknowledge every finding: {', '.join(missing)}.")
        )
    if stray:
        problems.append(
            FieldProblem("acknowledged", f"Not a finding of this version: {', '.join(stray)}.")
        )
    if problems:
        raise InvalidInput(tuple(problems))


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise InvalidInput((FieldProblem("reason", "Give a reason."),))
    if len(reason.strip()) > MAX_REASON_LENGTH:
        message = f"Give a reason of at most {MAX_REASON_LENGTH} characters."
        raise InvalidInput((FieldProblem("reason", message),))


def _superseded_plan(
    session: Session, actor: Actor, patient_id: int, unit: str, options: SaveOptions
) -> PlanRecord | None:
    """One open plan per patient and route: the plan named in `supersedes_plan_id` (which
    the new plan completes), and no other."""
    superseded = None
    if options.supersedes_plan_id is not None:
        superseded = plan_repo.get(
            session, options.supersedes_plan_id, clinic_id=clinic_scope(actor)
        )
        if superseded is None or superseded.patient_id != patient_id:
            raise InvalidInput((FieldProblem("supersedes_plan_id", "Not a plan of this patient."),))
        if superseded.state not in OPEN_STATES:
            raise Conflict(
                f"plan {superseded.id} is {_words(superseded.state)}; it cannot be followed"
            )
    others = [
        plan for plan in plan_repo.open_plans(session, patient_id, unit=unit, states=OPEN_STATES)
        if superseded is None or plan.id != superseded.id
    ]  # fmt: skip
    if others:
        route = "oral" if unit == "mg" else "intrathecal"
        raise Conflict(
            f"the patient is on {route} plan {others[0].id}: name it in supersedes_plan_id "
            "to follow it (it then ends as completed), or end it first"
        )
    return superseded


def _complete(
    session: Session, actor: Actor, superseded: PlanRecord, successor: PlanRecord
) -> None:
    old_state = superseded.state
    superseded.state = "completed"
    superseded.state_reason = f"followed by plan {successor.id}"
    superseded.updated_at = utc_now()
    with lost_race_is_stale(session, expected=None, current=_reread(superseded)):
        session.flush()
    audit.record(
        session,
        actor,
        AuditEntry(
            "plan.complete", "plan", str(superseded.id), superseded.patient_id,
            superseded.current_version, superseded.current_version, superseded.state_reason,
            {"from": old_state, "to": "completed", "successor_plan_id": successor.id},
        ),
    )  # fmt: skip


def _load_patient(
    session: Session, actor: Actor, patient_id: int, *, allow_archived: bool = False
) -> PatientRecord:
    patient = patient_repo.get(session, patient_id, clinic_id=clinic_scope(actor))
    if patient is None:
        raise NotFound(f"patient {patient_id} not found")
    if patient.archived_at is not None and not allow_archived:
        raise Conflict("the patient is archived")
    return patient


def _load_plan(session: Session, actor: Actor, plan_id: int) -> PlanRecord:
    # Another clinic's plan is "not found", never "forbidden": that would confirm it exists.
    record = plan_repo.get(session, plan_id, clinic_id=clinic_scope(actor))
    if record is None:
        raise NotFound(f"plan {plan_id} not found")
    return record


def _load_current(
    session: Session, actor: Actor, plan_id: int, expected_version: int | None
) -> PlanRecord:
    record = _load_plan(session, actor, plan_id)
    if expected_version is not None and record.current_version != expected_version:
        raise StaleVersion(expected=expected_version, current=record.current_version)
    return record


def _reread(record: PlanRecord) -> Callable[[], int]:
    # After a rollback the record is expired: reading an attribute loads the stored row.
    return lambda: record.current_version


def _created_by(version: PlanVersionRecord, actor: Actor) -> bool:
    """Separation of duties: whether `actor` created `version` (by id; rows written before
    ids were kept compare the name within the same kind)."""
    if version.author_kind != stored_kind(actor):
        return False
    if version.created_by_id is not None:
        return version.created_by_id == actor.id
    return version.created_by == actor.name


def _client(actor: Actor) -> str:
    return f"{actor.kind}:{actor.id}"


def _replayed(
    session: Session, actor: Actor, options: SaveOptions
) -> tuple[PlanRecord, PlanVersionRecord] | None:
    if not options.idempotency_key:
        return None
    stored = plan_repo.get_idempotency_key(session, _client(actor), options.idempotency_key)
    if stored is None:
        return None
    if stored.request_sha256 != options.request_fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was already used for another path or body")
    record = plan_repo.get(session, stored.plan_id, clinic_id=clinic_scope(actor))
    if record is None:  # the client's clinic no longer holds the patient
        raise NotFound(f"plan {stored.plan_id} not found")
    first = plan_repo.version(session, record.id, 1)
    # bandit B101: Narrows a type (a plan has version 1).
    assert first is not None  # nosec B101
    # A replay shows the stored plan: it is a read of patient data and audited as one.
    audit.record(
        session,
        actor,
        AuditEntry(
            "plan.read",
            "plan",
            str(record.id),
            record.patient_id,
            detail={"idempotent_replay": True},
        ),
    )
    session.commit()
    return record, first


def _words(state: str) -> str:
    return state.replace("_", " ")
