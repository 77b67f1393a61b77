"""Source and date of each patient value imported from an EHR (FHIR import)

Revision ID: ehr_0001_patient_ehr_values
Revises: trust_0001_kinds_keyed_audit
Create Date: 2026-12-06 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ehr_0001_patient_ehr_values"
down_revision: str | None = "trust_0001_kinds_keyed_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patient_ehr_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("ehr_id", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_patient_ehr_value_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_ehr_value")),
    )
    with op.batch_alter_table("patient_ehr_value", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_ehr_value_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("patient_ehr_value", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_ehr_value_patient_id"))
    op.drop_table("patient_ehr_value")
