"""Checking the audit hash chain (`titrate audit verify`, RELIABILITY.md A3).

The walk goes through every row in id order and stops at the first bad entry:

- gap in ids      an id is missing (a deleted row) — named by the missing id;
- broken link     a row's prev_hash is not the hash of the row before it (rows moved or
                  swapped, or prev_hash edited);
- hash mismatch   a row's content no longer hashes to its row_hash (a field was changed).

The chain head row must name the last row and its hash, which catches a deleted newest row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.db.audit_chain import GENESIS_HASH, UnreadableValue, chain_hash
from app.db.repositories import audit as audit_repo
from app.db.repositories.audit import ChainHead

GAP, BROKEN_LINK, HASH_MISMATCH = "gap in ids", "broken link", "hash mismatch"


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


def verify_chain(session: Session) -> ChainReport:
    """Read-only: walks the whole table once, in batches."""
    head = audit_repo.read_chain_head(session)
    return walk_chain(audit_repo.iter_chain_rows(session), head)


def walk_chain(rows: Iterable[Mapping[str, Any]], head: ChainHead) -> ChainReport:
    prev_id, prev_hash, checked = 0, GENESIS_HASH, 0
    for row in rows:
        problem = _check_row(row, prev_id, prev_hash, head)
        if problem is not None:
            return ChainReport(checked, prev_id, prev_hash, problem)
        prev_id, prev_hash, checked = int(row["id"]), str(row["row_hash"]), checked + 1
    problem = _check_head(prev_id, prev_hash, head)
    return ChainReport(checked, prev_id, prev_hash, problem)


def _check_row(
    row: Mapping[str, Any], prev_id: int, prev_hash: str, head: ChainHead
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
        expected_hash = chain_hash(prev_hash, row)
    except (UnreadableValue, TypeError, ValueError) as exc:
        return ChainBreak(row_id, HASH_MISMATCH, f"a stored value is unreadable: {exc}")
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
