"""Audit hash chain: prev_hash and row_hash on every audit event, and the chain head row

Existing rows are chained in id order. The append-only triggers refuse the UPDATE that the
backfill needs, so they are lifted for it and put back before the migration ends (on
PostgreSQL they are disabled and enabled again; SQLite has no such switch, so they are
dropped and re-created — the table rebuild for NOT NULL would drop them anyway).

This file carries a frozen copy of the canonical form (app/db/audit_chain.py at this
revision); migrations never import app code.

Revision ID: a286b22fdecb
Revises: fcc3fc9e4c7e
Create Date: 2026-11-22 02:30:00.000000
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "a286b22fdecb"
down_revision: str | None = "fcc3fc9e4c7e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64
CHAIN_HEAD_ID = 1
BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("legacy_last_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    with _append_only_lifted():
        op.add_column("audit_event", sa.Column("prev_hash", sa.String(length=64), nullable=True))
        op.add_column("audit_event", sa.Column("row_hash", sa.String(length=64), nullable=True))
        last_id, last_hash = _chain_existing_rows()
        op.execute(
            sa.text(
                "INSERT INTO audit_chain_head (id, last_id, last_hash, legacy_last_id) "
                "VALUES (:id, :last_id, :last_hash, :last_id)"
            ).bindparams(id=CHAIN_HEAD_ID, last_id=last_id, last_hash=last_hash)
        )
        with _sqlite_foreign_keys_off(), op.batch_alter_table("audit_event") as batch_op:
            for column in ("prev_hash", "row_hash"):
                batch_op.alter_column(column, existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    with (
        _append_only_lifted(),
        _sqlite_foreign_keys_off(),
        op.batch_alter_table("audit_event") as batch_op,
    ):
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
    op.drop_table("audit_chain_head")


def _chain_existing_rows() -> tuple[int, str]:
    bind = op.get_bind()
    last_id, last_hash = 0, GENESIS_HASH
    while True:
        rows = (
            bind.execute(
                sa.text("SELECT * FROM audit_event WHERE id > :after ORDER BY id LIMIT :n"),
                {"after": last_id, "n": BATCH},
            )
            .mappings()
            .all()
        )
        updates = []
        for row in rows:
            row_hash = _chain_hash(last_hash, row)
            updates.append({"row_id": row["id"], "prev": last_hash, "hash": row_hash})
            last_id, last_hash = int(row["id"]), row_hash
        if updates:
            bind.execute(
                sa.text(
                    "UPDATE audit_event SET prev_hash = :prev, row_hash = :hash WHERE id = :row_id"
                ),
                updates,
            )
        if len(rows) < BATCH:
            return last_id, last_hash


# --- frozen copy of app/db/audit_chain.py (canonical form v1) -----------------------------


def _chain_hash(prev_hash: str, fields: Any) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + _canonical_row(fields)).hexdigest()


def _canonical_row(fields: Any) -> bytes:
    values = {
        name: _canonical_value(name, value)
        for name, value in fields.items()
        if name not in ("prev_hash", "row_hash") and value is not None
    }
    document = {name: value for name, value in values.items() if value is not None}
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def _canonical_value(name: str, value: Any) -> Any:
    if name == "occurred_at" or isinstance(value, datetime):
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.isoformat(timespec="microseconds")
    if name == "detail":
        return json.loads(value if isinstance(value, str) else json.dumps(value))
    return value


# --- append-only triggers (as created by revision 6e07cc4c016e) ----------------------------


@contextmanager
def _append_only_lifted() -> Iterator[None]:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        yield
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        return
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS audit_event_no_{verb}")
    yield
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
        )


@contextmanager
def _sqlite_foreign_keys_off() -> Iterator[None]:
    """SQLite rebuilds a table to change a column; keys are off for the rebuild and every
    key is checked before they come back on (PRAGMA foreign_keys is ignored inside a
    transaction, hence the autocommit blocks)."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    with op.get_context().autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign key check failed after the rebuild: {broken[:5]}")
    finally:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=ON")
