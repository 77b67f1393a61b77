"""Plans: identity and state, immutable versions, idempotency keys for API creates

Revision ID: 6e286a3a7089
Revises: 6e07cc4c016e
Create Date: 2026-11-22 01:24:53.126260
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6e286a3a7089"
down_revision: str | None = "6e07cc4c016e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("plan_type", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('active','on_hold','discontinued')", name=op.f("ck_plan_state")
        ),
        sa.CheckConstraint("unit IN ('mg','mcg')", name=op.f("ck_plan_unit")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_plan_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
    )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_idempotency_key_plan_id_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_key")),
    )
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.create_index("uq_idempotency_key_client_key", ["client", "key"], unique=True)

    op.create_table(
        "plan_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("previous_version_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("input_json", sa.Text(), nullable=False),
        sa.Column("plan_json", sa.Text(), nullable=False),
        sa.Column("acknowledged", sa.JSON(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("engine_version", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_by_role", sa.String(length=16), nullable=True),
        sa.CheckConstraint("action IN ('create','revise')", name=op.f("ck_plan_version_action")),
        sa.CheckConstraint("status IN ('ready','blocked')", name=op.f("ck_plan_version_status")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_plan_version_plan_id_plan")
        ),
        sa.ForeignKeyConstraint(
            ["previous_version_id"],
            ["plan_version.id"],
            name=op.f("fk_plan_version_previous_version_id_plan_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_version")),
    )
    with op.batch_alter_table("plan_version", schema=None) as batch_op:
        batch_op.create_index("uq_plan_version_plan_number", ["plan_id", "number"], unique=True)

    _forbid_version_changes()


# A saved plan version is a signed order: the database refuses to change or delete it.
def _forbid_version_changes() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER plan_version_no_{verb.lower()} BEFORE {verb} ON plan_version "
                "BEGIN SELECT RAISE(ABORT, 'plan_version is immutable'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION plan_version_immutable() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'plan_version is immutable'; END $$"
    )
    op.execute(
        "CREATE TRIGGER plan_version_immutable BEFORE UPDATE OR DELETE ON plan_version "
        "FOR EACH ROW EXECUTE FUNCTION plan_version_immutable()"
    )


def _allow_version_changes() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS plan_version_no_update")
        op.execute("DROP TRIGGER IF EXISTS plan_version_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS plan_version_immutable ON plan_version")
    op.execute("DROP FUNCTION IF EXISTS plan_version_immutable()")


def downgrade() -> None:
    _allow_version_changes()
    with op.batch_alter_table("plan_version", schema=None) as batch_op:
        batch_op.drop_index("uq_plan_version_plan_number")

    op.drop_table("plan_version")
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_index("uq_idempotency_key_client_key")

    op.drop_table("idempotency_key")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_patient_id"))

    op.drop_table("plan")
