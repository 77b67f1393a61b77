"""The titration loop: observations and the decisions taken on them, pump refills, the
`completed` plan state with `supersedes_plan_id`, and review outcomes

Revision ID: loop_0001_titration_loop
Revises: ehr_0001_patient_ehr_values
Create Date: 2026-12-06 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "loop_0001_titration_loop"
down_revision: str | None = "ehr_0001_patient_ehr_values"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = "outcome IN ('approved','query','rejected')"


def upgrade() -> None:
    with _sqlite_foreign_keys_off(), op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supersedes_plan_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_plan_supersedes_plan_id_plan"), "plan", ["supersedes_plan_id"], ["id"]
        )
        batch_op.drop_constraint(batch_op.f("ck_plan_state"), type_="check")
        batch_op.create_check_constraint(
            "state", "state IN ('active','on_hold','completed','discontinued')"
        )
        batch_op.create_index(
            "ix_plan_patient_unit_state", ["patient_id", "unit", "state"], unique=False
        )

    # plan_review is append-only (triggers): a column added in place keeps them.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE plan_review ADD COLUMN outcome VARCHAR(12) NOT NULL "
            f"DEFAULT 'approved' CONSTRAINT ck_plan_review_outcome CHECK ({OUTCOMES})"
        )
    else:
        op.add_column(
            "plan_review",
            sa.Column("outcome", sa.String(length=12), nullable=False, server_default="approved"),
        )
        op.create_check_constraint("outcome", "plan_review", OUTCOMES)

    op.create_table(
        "observation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("mas_score", sa.String(length=2), nullable=True),
        sa.Column("spasm_frequency", sa.Integer(), nullable=True),
        sa.Column("adverse_effects", sa.JSON(), nullable=False),
        sa.Column("benefit", sa.String(length=8), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("suggestion", sa.String(length=16), nullable=False),
        sa.Column("suggestion_rule", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_by_role", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "benefit IS NULL OR benefit IN ('none','some','clear')",
            name=op.f("ck_observation_benefit"),
        ),
        sa.CheckConstraint(
            "mas_score IS NULL OR mas_score IN ('0','1','1+','2','3','4')",
            name=op.f("ck_observation_mas_score"),
        ),
        sa.CheckConstraint(
            "spasm_frequency IS NULL OR spasm_frequency BETWEEN 0 AND 4",
            name=op.f("ck_observation_spasm_frequency"),
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_observation_plan_id_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observation")),
    )
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_observation_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "observation_decision",
        sa.Column("observation_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["observation_id"],
            ["observation.id"],
            name=op.f("fk_observation_decision_observation_id_observation"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_observation_decision_plan_id_plan")
        ),
        sa.PrimaryKeyConstraint("observation_id", name=op.f("pk_observation_decision")),
    )

    op.create_table(
        "pump_refill",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("filled_on", sa.Date(), nullable=False),
        sa.Column("reservoir_ml", sa.BigInteger(), nullable=False),
        sa.Column("alarm_volume_ml", sa.BigInteger(), nullable=False),
        sa.Column("concentration_mcg_per_ml", sa.BigInteger(), nullable=False),
        sa.Column("max_refill_interval_days", sa.Integer(), nullable=False),
        sa.Column("daily_dose_mcg", sa.BigInteger(), nullable=False),
        sa.Column("alarm_date", sa.Date(), nullable=False),
        sa.Column("refill_due_date", sa.Date(), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_by_role", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_pump_refill_plan_id_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pump_refill")),
    )
    with op.batch_alter_table("pump_refill", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pump_refill_plan_id"), ["plan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pump_refill", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pump_refill_plan_id"))
    op.drop_table("pump_refill")
    op.drop_table("observation_decision")
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_observation_plan_id"))
    op.drop_table("observation")

    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE plan_review DROP COLUMN outcome")
    else:
        op.drop_constraint(op.f("ck_plan_review_outcome"), "plan_review", type_="check")
        op.drop_column("plan_review", "outcome")

    # A completed plan was an active one that a successor ended: it goes back to active.
    op.execute("UPDATE plan SET state = 'active' WHERE state = 'completed'")
    with _sqlite_foreign_keys_off(), op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_patient_unit_state")
        batch_op.drop_constraint(batch_op.f("ck_plan_state"), type_="check")
        batch_op.create_check_constraint("state", "state IN ('active','on_hold','discontinued')")
        batch_op.drop_constraint(batch_op.f("fk_plan_supersedes_plan_id_plan"), type_="foreignkey")
        batch_op.drop_column("supersedes_plan_id")


@contextmanager
def _sqlite_foreign_keys_off() -> Iterator[None]:
    """SQLite rebuilds `plan` to change its check constraint; dropping the old copy would trip
    the foreign keys of its versions, reviews and keys, so keys are off for the rebuild and
    every key is checked before they come back on (as in the clinics migration)."""
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
