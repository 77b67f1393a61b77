"""Protocols in the database (issue 17): protocol and protocol_version, seeded from the files

Every protocol the engine's ProtocolSet reads is seeded as version 1, approved by the system,
effective from 2000-01-01, with its file's exact bytes as content, so its sha256 is the one
the engine reported when it read the file. The bytes are read from a frozen copy,
migrations/seeds/protocols_0001/, not from the package: a later version of a packaged file
(formulary_0001 brings formulations and findings version 2) must not change what this
migration wrote.

Revision ID: protocols_0001_seeded
Revises: pages_0001_display_names
Create Date: 2026-12-06 02:00:00.000000
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "protocols_0001_seeded"
down_revision: str | None = "pages_0001_display_names"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEEDED = (
    "oral-adult", "oral-older-adult", "oral-renal", "oral-paediatric", "oral-taper", "itb",
    "formulations", "medication-dictionary", "findings",
)  # fmt: skip


def upgrade() -> None:
    protocol = op.create_table(
        "protocol",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol")),
    )
    protocol_version = op.create_table(
        "protocol_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("protocol_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("drafted_by", sa.String(length=100), nullable=False),
        sa.Column("drafted_by_kind", sa.String(length=8), nullable=False),
        sa.Column("drafted_by_id", sa.Integer(), nullable=True),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("approved_by_kind", sa.String(length=8), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft','approved','superseded')", name=op.f("ck_protocol_version_status")
        ),
        sa.ForeignKeyConstraint(
            ["protocol_id"], ["protocol.id"], name=op.f("fk_protocol_version_protocol_id_protocol")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_version")),
        sa.UniqueConstraint("protocol_id", "version", name="uq_protocol_version_number"),
    )
    op.create_index(
        op.f("ix_protocol_version_protocol_id"), "protocol_version", ["protocol_id"], unique=False
    )
    seeds = Path(__file__).resolve().parent.parent / "seeds" / "protocols_0001"
    now = datetime.now(UTC)
    protocols, versions = [], []
    for protocol_id in SEEDED:
        raw = (seeds / f"{protocol_id}.json").read_bytes()
        document = json.loads(raw)
        protocols.append({"id": protocol_id, "title": document["title"]})
        versions.append(
            {
                "protocol_id": protocol_id, "version": int(document["version"]),
                "status": "approved", "content": raw.decode("utf-8"),
                "sha256": hashlib.sha256(raw).hexdigest(), "drafted_by": "titrate",
                "drafted_by_kind": "system", "drafted_at": now,
                "reason": "seeded from the packaged protocol file", "approved_by": "titrate",
                "approved_by_kind": "system", "approved_at": now,
                "effective_from": date(2000, 1, 1),
            }
        )  # fmt: skip
    op.bulk_insert(protocol, protocols)
    op.bulk_insert(protocol_version, versions)


def downgrade() -> None:
    op.drop_index(op.f("ix_protocol_version_protocol_id"), table_name="protocol_version")
    op.drop_table("protocol_version")
    op.drop_table("protocol")
