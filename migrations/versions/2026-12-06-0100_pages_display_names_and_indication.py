"""Display names and professional titles of users; the indication stored on the patient

Pages and prints named people by their login ("Prescribed by drmeyer"): a user now has an
optional display name ("Dr Ana Meyer") and professional title ("Consultant neurologist"),
shown wherever a person is named, the username where they are empty. The indication was
chosen per plan and never kept: the patient holds it now and the planner prefills it.
All three are nullable, so existing rows need no backfill. Search by birth date gets an
index on (clinic_id, birth_date).

Revision ID: pages_0001_display_names
Revises: exports_0001_calendar_feeds
Create Date: 2026-12-06 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "pages_0001_display_names"
down_revision: str | None = "exports_0001_calendar_feeds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("professional_title", sa.String(length=100), nullable=True))
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("indication", sa.String(length=32), nullable=True))
        batch_op.create_index(
            "ix_patient_clinic_birth_date", ["clinic_id", "birth_date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_clinic_birth_date")
        batch_op.drop_column("indication")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("professional_title")
        batch_op.drop_column("display_name")
