"""Plans a protocol approval changes (issue 17): plan_protocol_review

One row per plan version whose schedule an approved protocol version changes, written in the
approval's transaction; the worklist shows it while that version is the plan's current one.

Revision ID: impact_0001_plan_reviews
Revises: protocols_0001_seeded
Create Date: 2026-12-06 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "impact_0001_plan_reviews"
down_revision: str | None = "protocols_0001_seeded"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_protocol_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("protocol_version_id", sa.Integer(), nullable=False),
        sa.Column("differs_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_plan_protocol_review_plan_id_plan")
        ),
        sa.ForeignKeyConstraint(
            ["protocol_version_id"],
            ["protocol_version.id"],
            name=op.f("fk_plan_protocol_review_protocol_version_id_protocol_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_protocol_review")),
        sa.UniqueConstraint(
            "plan_id", "plan_version", "protocol_version_id", name="uq_plan_protocol_review"
        ),
    )
    op.create_index(
        op.f("ix_plan_protocol_review_plan_id"), "plan_protocol_review", ["plan_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_protocol_review_plan_id"), table_name="plan_protocol_review")
    op.drop_table("plan_protocol_review")
