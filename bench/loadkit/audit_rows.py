"""Audit rows for seeded history, linked into the hash chain as the repository links them.

`repositories.audit.add_audit_event` gives each row the next id after the chain head, its
prev_hash, and row_hash = chain_hash(prev_hash, every column); so does `AuditChain.event`,
starting from the head it read. `store_head` moves the head to the last row written, after
which `titrate audit verify` walks the seeded rows like any others.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from app.db.audit_chain import chain_hash
from app.db.models import AuditChainHeadRecord, AuditEventRecord

AUDIT_TABLE = AuditEventRecord.__table__
HEAD_TABLE = AuditChainHeadRecord.__table__
CHAIN_HEAD_ID = 1


@dataclass(frozen=True, slots=True)
class Author:
    """The prescriber who registered a clinic's seeded patients and saved their plans."""

    user_id: int
    username: str
    clinic_id: int


class AuditChain:
    def __init__(self, last_id: int, last_hash: str) -> None:
        self.last_id, self.last_hash = last_id, last_hash
        self._rng = random.Random(last_id)

    @classmethod
    def from_head(cls, conn: Connection) -> AuditChain:
        head = conn.execute(select(HEAD_TABLE).where(HEAD_TABLE.c.id == CHAIN_HEAD_ID)).one()
        return cls(head.last_id, head.last_hash)

    def event(
        self, at: datetime, author: Author, action: str, entity: tuple[str, int], **fields: Any
    ) -> dict[str, Any]:
        """One row as a web request of `author` writes it; `fields`: patient_id,
        old_version, new_version, reason, detail (the AuditEntry fields)."""
        row: dict[str, Any] = {column.key: None for column in AUDIT_TABLE.columns}
        row.update(
            id=self.last_id + 1, occurred_at=at, actor_kind="user", actor_id=author.user_id,
            actor_name=author.username, actor_role="prescriber", action=action,
            entity_type=entity[0], entity_id=str(entity[1]),
            request_id=f"{self._rng.getrandbits(64):016x}", client_ip="127.0.0.1",
            outcome="success", prev_hash=self.last_hash, **fields,
        )  # fmt: skip
        row["row_hash"] = chain_hash(self.last_hash, row)
        self.last_id, self.last_hash = row["id"], row["row_hash"]
        return row

    def store_head(self, conn: Connection) -> None:
        conn.execute(
            update(HEAD_TABLE)
            .where(HEAD_TABLE.c.id == CHAIN_HEAD_ID)
            .values(last_id=self.last_id, last_hash=self.last_hash)
        )
