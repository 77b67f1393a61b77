"""Trust, the remaining gaps (issue 13): audit rows name their clinic; one-time reset links

- `audit_event.clinic_id` (nullable, indexed): the clinic a row belongs to, so an admin
  reviews only their own clinic's trail. Added with ADD COLUMN (no table rebuild, so the
  append-only triggers stay) and never backfilled: the trail is append-only and hash-chained,
  and the chain's canonical form leaves NULL columns out, so every older row keeps its bytes
  and its hash. Older rows are attributed when they are reviewed, through their actor, their
  patient or the user or token they concern (`repositories/audit.py`).
- `password_reset_link`: a one-time link (SHA-256 of a 256-bit secret, 24 h, single use) an
  admin hands to a user instead of a password the admin would know.

Revision ID: trust_0002_reset_audit_clinic
Revises: impact_0001_plan_reviews
Create Date: 2026-12-06 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "trust_0002_reset_audit_clinic"
down_revision: str | None = "impact_0001_plan_reviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_event", sa.Column("clinic_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_audit_event_clinic_id"), "audit_event", ["clinic_id"], unique=False)
    op.create_table(
        "password_reset_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_password_reset_link_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset_link")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_password_reset_link_token_sha256")),
    )
    op.create_index(
        op.f("ix_password_reset_link_user_id"), "password_reset_link", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_password_reset_link_user_id"), table_name="password_reset_link")
    op.drop_table("password_reset_link")
    op.drop_index(op.f("ix_audit_event_clinic_id"), table_name="audit_event")
    # ADD COLUMN's counterpart; SQLite ≥ 3.35 drops a column without rebuilding the table.
    op.drop_column("audit_event", "clinic_id")
