"""Calendar feeds: a secret, revocable address per patient that calendar apps subscribe to

Only the SHA-256 of the address's secret is stored (like API tokens); a revoked feed keeps its
row with `revoked_at`, so the audit trail's feed ids stay resolvable.

Revision ID: exports_0001_calendar_feeds
Revises: loop_0001_titration_loop
Create Date: 2026-12-06 01:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "exports_0001_calendar_feeds"
down_revision: str | None = "loop_0001_titration_loop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_calendar_feed_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feed")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_calendar_feed_token_sha256")),
    )
    op.create_index(
        op.f("ix_calendar_feed_patient_id"), "calendar_feed", ["patient_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_calendar_feed_patient_id"), table_name="calendar_feed")
    op.drop_table("calendar_feed")
