"""Checking the audit hash chain (`titrate audit verify`, RELIABILITY.md A3).

The walk goes through every row in id order and stops at the first bad entry:

- gap in ids      an id is missing (a deleted row) — named by the missing id;
- broken link     a row's prev_hash is not the hash of the row before it (rows moved or
                  swapped, or prev_hash edited);
- hash mismatch   a row's content no longer hashes to its row_hash (a field was changed);
                  keyed rows are checked with the HMAC key they name, so an edited row
                  that was re-chained without the key fails here, and so does a row
                  without a key after the chain was keyed, or one naming a key this
                  process does not hold (see the rotation runbook);
- bad seal        the chain head's HMAC seal does not match (a re-chained or truncated
                  trail whose head was rewritten without the key);
- anchor mismatch an anchor (a backup manifest's last id and hash, kept outside the
                  database) names a row whose hash is now different, or that is gone.

The chain head row must name the last row and its hash, which catches a deleted newest row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.db.audit_chain import (
    GENESIS_HASH,
    AuditKeys,
    UnreadableValue,
    chain_hash,
    head_seal,
    installed_keys,
    keyed_chain_hash,
)
from app.db.repositories import audit as audit_repo
from app.db.repositories.audit import ChainHead
from app.services import audit
from app.services.audit import AuditEntry
from app.services.context import SYSTEM

GAP, BROKEN_LINK, HASH_MISMATCH = "gap in ids", "broken link", "hash mismatch"
BAD_SEAL = "bad seal"
ANCHOR_MISMATCH = "anchor mismatch"


@dataclass(frozen=True, slots=True)
class Anchor:
    """A row's id and hash recorded outside the database (a backup manifest)."""

    last_id: int
    last_hash: str
    source: str


@dataclass(frozen=True, slots=True)
class ChainBreak:
    event_id: int
    reason: str
    explanation: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    checked: int
    last_id: int
    last_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None

    def summary(self) -> str:
        if self.first_break is None:
            return f"audit chain ok: {self.checked} events"
        bad = self.first_break
        return f"audit chain broken at id {bad.event_id}: {bad.reason} ({bad.explanation})"


def verify_chain(
    session: Session, *, keys: AuditKeys | None = None, anchors: tuple[Anchor, ...] = ()
) -> ChainReport:
    """Read-only: walks the whole table once, in batches."""
    head = audit_repo.read_chain_head(session)
    rows = audit_repo.iter_chain_rows(session)
    return walk_chain(rows, head, keys=keys or installed_keys(), anchors=anchors)


def seal_chain(session: Session) -> bool:
    """After an upgrade: one keyed `audit.keyed` row, which seals the head with the current
    key, so the unkeyed rows before it can no longer be extended. True if it wrote one."""
    head = audit_repo.read_chain_head(session)
    if head.seal is not None or head.last_id == 0:
        session.rollback()
        return False
    detail = {"unkeyed_last_id": head.unkeyed_last_id, "key_id": installed_keys().current.key_id}
    audit.record(session, SYSTEM, AuditEntry("audit.keyed", "audit_chain", "1", detail=detail))
    session.commit()
    return True


def anchor_from_manifest(path: str, manifest: Mapping[str, Any]) -> Anchor:
    """The chain's newest row as a backup manifest recorded it (SQLite or PostgreSQL)."""
    chain = manifest.get("audit_chain") or manifest.get("audit_chain_at_start")
    if not isinstance(chain, Mapping) or "last_id" not in chain or "last_hash" not in chain:
        raise ValueError(f"{path} records no audit chain head")
    return Anchor(int(chain["last_id"]), str(chain["last_hash"]), path)


def walk_chain(
    rows: Iterable[Mapping[str, Any]],
    head: ChainHead,
    *,
    keys: AuditKeys,
    anchors: tuple[Anchor, ...] = (),
) -> ChainReport:
    prev_id, prev_hash, checked = 0, GENESIS_HASH, 0
    wanted = {anchor.last_id: anchor for anchor in anchors}
    for row in rows:
        problem = _check_row(row, prev_id, prev_hash, head, keys) or _check_anchor(row, wanted)
        if problem is not None:
            return ChainReport(checked, prev_id, prev_hash, problem)
        prev_id, prev_hash, checked = int(row["id"]), str(row["row_hash"]), checked + 1
    problem = _check_head(prev_id, prev_hash, head) or _check_seal(head, keys)
    if problem is None and wanted:
        anchor = min(wanted.values(), key=lambda a: a.last_id)
        explanation = f"{anchor.source} names id {anchor.last_id}, which the chain no longer has"
        problem = ChainBreak(anchor.last_id, ANCHOR_MISMATCH, explanation)
    return ChainReport(checked, prev_id, prev_hash, problem)


def _check_anchor(row: Mapping[str, Any], wanted: dict[int, Anchor]) -> ChainBreak | None:
    anchor = wanted.pop(int(row["id"]), None)
    if anchor is None or anchor.last_hash == row["row_hash"]:
        return None
    explanation = f"{anchor.source} recorded another hash for this row"
    return ChainBreak(anchor.last_id, ANCHOR_MISMATCH, explanation)


def _check_seal(head: ChainHead, keys: AuditKeys) -> ChainBreak | None:
    if head.seal is None:
        if head.last_id == 0:
            return None  # an empty trail
        # `titrate migrate` seals an upgraded trail at once (seal_chain), so a head without a
        # seal is one whose seal was removed, e.g. to pass re-chained rows off as unkeyed.
        explanation = "the chain head carries no seal (run `titrate migrate` after an upgrade)"
        return ChainBreak(head.last_id, BAD_SEAL, explanation)
    for key in keys.by_id.values():
        if head_seal(key, head.last_id, head.last_hash, head.unkeyed_last_id) == head.seal:
            return None
    return ChainBreak(head.last_id, BAD_SEAL, "the chain head's seal does not match")


def _expected_hash(
    row: Mapping[str, Any], prev_hash: str, head: ChainHead, keys: AuditKeys
) -> str | ChainBreak:
    row_id, key_id = int(row["id"]), row.get("key_id")
    if key_id is None:
        if row_id > head.unkeyed_last_id:
            explanation = "a row after the chain was keyed names no key"
            return ChainBreak(row_id, HASH_MISMATCH, explanation)
        return chain_hash(prev_hash, row)
    key = keys.by_id.get(str(key_id))
    if key is None:
        explanation = f"the row names key {key_id}, which is not configured"
        return ChainBreak(row_id, HASH_MISMATCH, explanation)
    return keyed_chain_hash(key, prev_hash, row)


def _check_row(
    row: Mapping[str, Any], prev_id: int, prev_hash: str, head: ChainHead, keys: AuditKeys
) -> ChainBreak | None:
    row_id, expected_id = int(row["id"]), prev_id + 1
    linked = row["prev_hash"] == prev_hash
    # Ids the migration chained came from a sequence and may skip; a skip there is only a
    # break if the link is broken too.
    if row_id != expected_id and (not linked or row_id > head.legacy_last_id):
        return ChainBreak(expected_id, GAP, f"id {expected_id} is missing; next is {row_id}")
    if not linked:
        return ChainBreak(row_id, BROKEN_LINK, f"prev_hash is not the hash of id {prev_id}")
    try:
        expected_hash = _expected_hash(row, prev_hash, head, keys)
    except (UnreadableValue, TypeError, ValueError) as exc:
        return ChainBreak(row_id, HASH_MISMATCH, f"a stored value is unreadable: {exc}")
    if isinstance(expected_hash, ChainBreak):
        return expected_hash
    if expected_hash != row["row_hash"]:
        return ChainBreak(row_id, HASH_MISMATCH, "the row's content does not match its hash")
    return None


def _check_head(last_id: int, last_hash: str, head: ChainHead) -> ChainBreak | None:
    if head.last_id > last_id:
        return ChainBreak(
            last_id + 1,
            GAP,
            f"id {last_id + 1} is missing; the chain head records id {head.last_id} as newest",
        )
    if head.last_id < last_id:
        return ChainBreak(
            head.last_id + 1,
            BROKEN_LINK,
            f"the chain head records id {head.last_id} as newest; later rows were not chained",
        )
    if head.last_hash != last_hash:
        return ChainBreak(last_id, BROKEN_LINK, "the chain head records another hash for it")
    return None
