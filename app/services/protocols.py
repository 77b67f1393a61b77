"""Protocols a pharmacist can change safely (issue 17): versions in the database, drafts,
four-eyes approval, and the set of effective versions the engine reads.

The engine keeps reading a ``ProtocolSet`` built by ``load_protocols``; only where its bytes
come from changed: ``load_effective`` hands it each protocol's effective approved version.
Drafts never reach it. A draft is refused (422, naming each parameter) when a value does not
parse, lies outside its §11 range or passes a hard limit (``domain.titration.protocol_limits``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import ProtocolRecord, ProtocolVersionRecord
from app.db.repositories import protocol_impact as impact_repo
from app.db.repositories import protocols as protocol_repo
from app.domain.patients import FieldProblem
from app.domain.titration import ProtocolSet, load_protocols, load_stored_protocols
from app.domain.titration.errors import ProtocolError
from app.domain.titration.protocol import PARAMETER_SCHEMA, parse_protocol
from app.domain.titration.protocol_editing import ParameterDiff, parameter_diff
from app.domain.titration.protocol_limits import limit_problems
from app.services import audit, protocol_impact
from app.services.audit import AuditEntry
from app.services.context import Actor, stored_kind, utc_now
from app.services.errors import Conflict, InvalidInput, NotFound, SelfApproval
from app.services.permissions import require
from app.services.plans import MAX_REASON_LENGTH
from app.services.reads import read_only

LOG = logging.getLogger("titrate.protocols")


# A parameter's value as a protocol document writes it: a decimal or text, a list of them,
# or a list of objects (pump_models: model and reservoir_ml).
ParameterValue = str | list[str] | list[dict[str, str]] | list[str | dict[str, str]]


@dataclass(frozen=True, slots=True)
class ParameterChange:
    """A new value for one parameter, with the source that justifies it (required)."""

    value: ParameterValue
    source: str


@dataclass(frozen=True, slots=True)
class ProtocolView:
    protocol: ProtocolRecord
    effective: ProtocolVersionRecord | None
    drafts: int = 0  # drafts waiting for a second pharmacist's approval


@dataclass(frozen=True, slots=True)
class VersionChanges:
    """One version and what it changed against the version before it (none for the first)."""

    record: ProtocolVersionRecord
    changes: tuple[ParameterDiff, ...]


@dataclass(frozen=True, slots=True)
class ProtocolHistory:
    protocol: ProtocolRecord
    versions: tuple[VersionChanges, ...]  # oldest first
    editable: bool  # pharmacists may draft it (developers change the others)
    in_force: int | None  # the version the engine uses today


def load_at_start(session: Session) -> ProtocolSet:
    """The protocols a starting process hands the engine: the database's effective versions;
    the packaged files (the migration's seed) only for a database that has no protocol
    table yet, i.e. is not migrated (nothing else works on it either), with a warning."""
    with read_only(session):
        migrated = inspect(session.connection()).has_table("protocol_version")
    if not migrated:
        LOG.warning("database not migrated: protocols read from the packaged files")
        return load_protocols()
    return load_effective(session)


def load_effective(session: Session, *, on: date | None = None) -> ProtocolSet:
    """The engine's protocols: each one's approved version in force on ``on`` (today)."""
    with read_only(session):
        contents = effective_contents(session, on or utc_now().date())
    return load_stored_protocols(contents)


def effective_contents(session: Session, on: date) -> dict[str, bytes]:
    """The stored content of each protocol's approved version in force on ``on``."""
    return {
        pid: record.content.encode("utf-8")
        for pid, record in protocol_repo.effective(session, on).items()
    }


def list_protocols(session: Session, *, actor: Actor) -> list[ProtocolView]:
    require(actor, "protocol.read")
    effective = protocol_repo.effective(session, utc_now().date())
    drafts = protocol_repo.draft_counts(session)
    views = [
        ProtocolView(p, effective.get(p.id), drafts.get(p.id, 0))
        for p in protocol_repo.all_protocols(session)
    ]
    session.commit()
    return views


def protocol_history(session: Session, *, actor: Actor, protocol_id: str) -> ProtocolHistory:
    """Every version, oldest first, each with the parameters (value or source) it changed
    against the version numbered just before it."""
    require(actor, "protocol.read")
    protocol = _protocol(session, protocol_id)
    records = protocol_repo.versions(session, protocol_id)
    in_force = protocol_repo.effective(session, utc_now().date()).get(protocol_id)
    session.commit()
    versions = tuple(
        VersionChanges(record, parameter_diff(before.content if before else None, record.content))
        for before, record in zip([None, *records], records, strict=False)
    )
    return ProtocolHistory(
        protocol, versions, protocol_id in PARAMETER_SCHEMA, in_force.version if in_force else None
    )


def draft_basis(session: Session, *, actor: Actor, protocol_id: str) -> ProtocolVersionRecord:
    """The version a new draft starts from (the newest approved one), for the draft form."""
    require(actor, "protocol.draft")
    _protocol(session, protocol_id)
    if protocol_id not in PARAMETER_SCHEMA:
        raise Conflict(f"the protocol {protocol_id} is changed by developers only")
    base = _newest_approved(session, protocol_id)
    session.commit()
    return base


def list_versions(
    session: Session, *, actor: Actor, protocol_id: str
) -> list[ProtocolVersionRecord]:
    require(actor, "protocol.read")
    _protocol(session, protocol_id)
    records = protocol_repo.versions(session, protocol_id)
    session.commit()
    return records


def draft_version(
    session: Session,
    *,
    actor: Actor,
    protocol_id: str,
    changes: dict[str, ParameterChange],
    reason: str | None = None,
) -> ProtocolVersionRecord:
    """Store a new draft: the newest approved version with ``changes`` applied."""
    require(actor, "protocol.draft")
    _protocol(session, protocol_id)
    if protocol_id not in PARAMETER_SCHEMA:
        raise Conflict(f"the protocol {protocol_id} is changed by developers only")
    if not changes:
        raise InvalidInput((FieldProblem("parameters", "change at least one parameter"),))
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        message = f"a reason of at most {MAX_REASON_LENGTH} characters"
        raise InvalidInput((FieldProblem("reason", message),))
    base = _newest_approved(session, protocol_id)
    number = protocol_repo.latest_number(session, protocol_id) + 1
    raw = _edited_document(base.content, number, changes)
    try:
        parsed = parse_protocol(protocol_id, raw)
    except ProtocolError as error:
        raise InvalidInput((_parse_problem(protocol_id, str(error)),)) from error
    problems = limit_problems(parsed)
    if problems:
        raise InvalidInput(
            tuple(FieldProblem(f"parameters.{p.parameter}", p.message) for p in problems)
        )
    record = ProtocolVersionRecord(
        protocol_id=protocol_id, version=number, status="draft", content=raw.decode("utf-8"),
        sha256=hashlib.sha256(raw).hexdigest(), drafted_by=actor.name,
        drafted_by_kind=stored_kind(actor), drafted_by_id=actor.id, drafted_at=utc_now(),
        reason=reason,
    )  # fmt: skip
    session.add(record)
    try:
        session.flush()
    except IntegrityError as error:  # another draft took this number first
        session.rollback()
        raise Conflict(f"another draft of {protocol_id} was saved at the same time") from error
    audit.record(
        session,
        actor,
        AuditEntry(
            "protocol.draft", "protocol_version", f"{protocol_id}/{number}",
            new_version=number, reason=reason,
            detail={"protocol_id": protocol_id, "sha256": record.sha256,
                    "parameters": sorted(changes)},
        ),
    )  # fmt: skip
    session.commit()
    return record


def approve_version(
    session: Session, *, actor: Actor, protocol_id: str, version: int, effective_from: date,
    scan_workers: int = 1,
) -> ProtocolVersionRecord:  # fmt: skip
    """Approve a draft from ``effective_from`` (today or later); never its author's own. The
    open plans it changes are found on up to ``scan_workers`` processes."""
    require(actor, "protocol.approve")
    # The plans it changes are found before the write transaction (a read-only scan that can
    # take seconds) and stored with the approval; see services/protocol_impact.py.
    to_review = protocol_impact.plans_to_review(
        session, actor=actor, protocol_id=protocol_id, version=version,
        effective_from=effective_from, workers=scan_workers,
    )  # fmt: skip
    _protocol(session, protocol_id)
    record = protocol_repo.version(session, protocol_id, version)
    if record is None:
        raise NotFound(f"protocol {protocol_id} has no version {version}")
    if record.status != "draft":
        raise Conflict(f"version {version} of {protocol_id} is {record.status}, not a draft")
    if record.drafted_by_kind == stored_kind(actor) and record.drafted_by_id == actor.id:
        raise SelfApproval("a protocol version is approved by someone other than its author")
    if effective_from < utc_now().date():
        message = "An approval takes effect today or later, never in the past."
        raise InvalidInput((FieldProblem("effective_from", message),))
    now = utc_now()
    won = protocol_repo.approve_draft(
        session,
        record.id,
        {
            "approved_by": actor.name, "approved_by_kind": stored_kind(actor),
            "approved_by_id": actor.id, "approved_at": now, "effective_from": effective_from,
        },
    )  # fmt: skip
    if not won:
        session.rollback()
        raise Conflict(f"version {version} of {protocol_id} was approved by someone else")
    protocol_repo.supersede_before(session, protocol_id, effective_from, record.id)
    impact_repo.add_review_flags(session, to_review, record.id, now)
    audit.record(
        session,
        actor,
        AuditEntry(
            "protocol.approve", "protocol_version", f"{protocol_id}/{version}",
            new_version=version,
            detail={"protocol_id": protocol_id, "sha256": record.sha256,
                    "effective_from": effective_from.isoformat(),
                    "plans_to_review": len(to_review)},
        ),
    )  # fmt: skip
    session.commit()
    session.refresh(record)
    return record


def _protocol(session: Session, protocol_id: str) -> ProtocolRecord:
    record = protocol_repo.get(session, protocol_id)
    if record is None:
        raise NotFound(f"no protocol {protocol_id}")
    return record


def _newest_approved(session: Session, protocol_id: str) -> ProtocolVersionRecord:
    approved = [
        record
        for record in protocol_repo.versions(session, protocol_id)
        if record.status != "draft"
    ]
    if not approved:
        raise Conflict(f"the protocol {protocol_id} has no approved version to start from")
    return approved[-1]


def _parse_problem(protocol_id: str, message: str) -> FieldProblem:
    """A value that does not parse, named by its parameter: the loader's messages start with
    "<protocol>.<parameter>: " (protocol.py); anything else names the parameters as a whole."""
    where, separator, detail = message.partition(": ")
    prefix = f"{protocol_id}."
    if separator and where.startswith(prefix) and " " not in where:
        return FieldProblem(f"parameters.{where.removeprefix(prefix)}", detail)
    return FieldProblem("parameters", message)


def _edited_document(content: str, number: int, changes: dict[str, ParameterChange]) -> bytes:
    document = json.loads(content)
    parameters = document["parameters"]
    problems = []
    for name, change in changes.items():
        if name not in parameters:
            problems.append(FieldProblem(f"parameters.{name}", "not a parameter of this protocol"))
        elif not change.source.strip():
            problems.append(FieldProblem(f"parameters.{name}.source", "a source is required"))
        else:
            unit = parameters[name]["unit"]
            parameters[name] = {"value": change.value, "unit": unit, "source": change.source}
    if problems:
        raise InvalidInput(tuple(problems))
    document["version"] = str(number)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    return text.encode("utf-8")
