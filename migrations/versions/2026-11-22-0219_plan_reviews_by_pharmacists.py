"""Pharmacist reviews of plan versions (append-only, like the versions they review)

Revision ID: fcc3fc9e4c7e
Revises: 2fcd84626f24
Create Date: 2026-11-22 02:19:37.264054
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fcc3fc9e4c7e"
down_revision: str | None = "2fcd84626f24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("plan_version_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("acknowledged", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=100), nullable=False),
        sa.Column("reviewed_by_role", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_plan_review_plan_id_plan")),
        sa.ForeignKeyConstraint(
            ["plan_version_id"],
            ["plan_version.id"],
            name=op.f("fk_plan_review_plan_version_id_plan_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_review")),
    )
    with op.batch_alter_table("plan_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_review_plan_id"), ["plan_id"], unique=False)

    _forbid_review_changes()


# A review is a signed check of one version: the database refuses to change or delete it.
def _forbid_review_changes() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER plan_review_no_{verb.lower()} BEFORE {verb} ON plan_review "
                "BEGIN SELECT RAISE(ABORT, 'plan_review is immutable'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION plan_review_immutable() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'plan_review is immutable'; END $$"
    )
    op.execute(
        "CREATE TRIGGER plan_review_immutable BEFORE UPDATE OR DELETE ON plan_review "
        "FOR EACH ROW EXECUTE FUNCTION plan_review_immutable()"
    )


def _allow_review_changes() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS plan_review_no_update")
        op.execute("DROP TRIGGER IF EXISTS plan_review_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS plan_review_immutable ON plan_review")
    op.execute("DROP FUNCTION IF EXISTS plan_review_immutable()")


def downgrade() -> None:
    _allow_review_changes()
    with op.batch_alter_table("plan_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_review_plan_id"))

    op.drop_table("plan_review")
