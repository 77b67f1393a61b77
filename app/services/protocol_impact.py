"""Impact of a protocol version on the open plans (issue 17, item 4).

Before approval, ``impact_of_version`` recomputes every open plan of the actor's clinic with
the engine under the protocols in force on the comparison day, with the version in question
(a draft too) substituted for its protocol, and compares each result with the plan's current
stored version from that day on (``domain.titration.impact``). At approval,
``plans_to_review`` does the same for every clinic and the approval stores the plans it
changes (``plan_protocol_review``) in its own transaction; the worklist shows them as
"protocol updated — review". A saved version is never rewritten.

The scan (``services/impact_scan.py``, on every core for a large clinic) reads in read-only
transactions (on SQLite they never take the write lock, however long the engine runs); the
audit row of a report is written in a short transaction after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from app.db.models import ProtocolVersionRecord
from app.db.repositories import protocols as protocol_repo
from app.services import audit
from app.services import protocols as protocol_service
from app.services.audit import AuditEntry
from app.services.context import Actor, stored_kind, utc_now
from app.services.errors import NotFound
from app.services.impact_scan import ChangedPlan, FailedPlan, scan
from app.services.permissions import clinic_scope, require
from app.services.reads import read_only


@dataclass(frozen=True, slots=True)
class ImpactReport:
    protocol_id: str
    version: int
    status: str
    since: date
    checked: int
    changed: tuple[ChangedPlan, ...]
    failed: tuple[FailedPlan, ...]

    @property
    def unchanged(self) -> int:
        return self.checked - len(self.changed) - len(self.failed)


def impact_of_version(
    session: Session, *, actor: Actor, protocol_id: str, version: int,
    since: date | None = None, workers: int = 1,
) -> ImpactReport:  # fmt: skip
    """The open plans of the actor's clinic whose schedule the version would change from
    ``since`` (default: its effective date, or today for a draft or a past date), computed
    on up to ``workers`` processes (services/impact_scan.py)."""
    require(actor, "protocol.draft")
    clinic_id = clinic_scope(actor)
    with read_only(session):
        record = _version(session, protocol_id, version)
        since = since or _default_since(record)
        contents = substituted_contents(session, record, on=since)
    result = scan(session, clinic_id, contents, since, workers=workers)
    changed = tuple(o for o in result.outcomes if isinstance(o, ChangedPlan))
    failed = tuple(o for o in result.outcomes if isinstance(o, FailedPlan))
    checked = result.checked
    report = ImpactReport(protocol_id, version, record.status, since, checked, changed, failed)
    audit.record(
        session,
        actor,
        AuditEntry(
            "protocol.impact", "protocol_version", f"{protocol_id}/{version}",
            detail={"protocol_id": protocol_id, "version": version,
                    "since": since.isoformat(), "checked": checked,
                    "changed": len(changed), "failed": len(failed)},
        ),
    )  # fmt: skip
    session.commit()
    return report


def plans_to_review(
    session: Session, *, actor: Actor, protocol_id: str, version: int, effective_from: date,
    workers: int = 1,
) -> list[tuple[int, int, date]]:  # fmt: skip
    """(plan id, plan version, first differing day) of every open plan, of every clinic,
    whose schedule the draft would change once approved from ``effective_from``. Runs
    before the approval's write transaction (read-only); an approval that will be refused
    (not a draft, its author's own, a past date) gives nothing and costs no scan."""
    with read_only(session):
        record = protocol_repo.version(session, protocol_id, version)
        if (
            record is None
            or record.status != "draft"
            or (record.drafted_by_kind, record.drafted_by_id) == (stored_kind(actor), actor.id)
            or effective_from < utc_now().date()
        ):
            return []
        contents = substituted_contents(session, record, on=effective_from)
    return [
        (outcome.plan_id, outcome.version, outcome.difference.on)
        for outcome in scan(session, None, contents, effective_from, workers=workers).outcomes
        if isinstance(outcome, ChangedPlan)
    ]


def substituted_contents(
    session: Session, record: ProtocolVersionRecord, *, on: date
) -> dict[str, bytes]:
    """The stored content of each protocol in force on ``on``, ``record``'s in place of its
    protocol's version: what a scan's worker processes build their protocol set from."""
    contents = protocol_service.effective_contents(session, on)
    contents[record.protocol_id] = record.content.encode("utf-8")
    return contents


def _version(session: Session, protocol_id: str, version: int) -> ProtocolVersionRecord:
    if protocol_repo.get(session, protocol_id) is None:
        raise NotFound(f"no protocol {protocol_id}")
    record = protocol_repo.version(session, protocol_id, version)
    if record is None:
        raise NotFound(f"protocol {protocol_id} has no version {version}")
    return record


def _default_since(record: ProtocolVersionRecord) -> date:
    today = utc_now().date()
    if record.effective_from is not None and record.effective_from > today:
        return record.effective_from
    return today
