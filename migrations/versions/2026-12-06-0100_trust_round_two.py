"""Trust, round two (issue 13): actor kinds, forced password change, system admins, keyed audit

- `plan.created_by_kind`, `plan_version.created_by_kind`/`created_by_id`,
  `plan_review.reviewed_by_kind`/`reviewed_by_id`: `user` or `client` (an API token), so a
  token can never pass for a person, and a reviewer can be compared with the creator by id.
  Existing rows are backfilled: a row without a role was written by a token (tokens have no
  role), the plan from its first version. The immutability triggers of plan_version and
  plan_review are lifted for the backfill only.
- `app_user.must_change_password` (a reset sets it) and `app_user.is_system_admin` (the
  only accounts that manage clinics and see every clinic's administration).
- `audit_event.key_id` names the HMAC key a row was chained with (NULL: plain SHA-256, the
  rows before this revision); `audit_chain_head.unkeyed_last_id` is the last such row and
  `audit_chain_head.seal` an HMAC over the head, so a rechained or truncated trail fails
  `titrate audit verify` without the key.

Columns are added with ADD COLUMN (no table rebuild), so the append-only triggers stay.

Revision ID: trust_0001_kinds_keyed_audit
Revises: 5a1a1e9cba6e
Create Date: 2026-12-06 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "trust_0001_kinds_keyed_audit"
down_revision: str | None = "5a1a1e9cba6e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMMUTABLE = ("plan_version", "plan_review")


def upgrade() -> None:
    op.add_column("plan", sa.Column("created_by_kind", sa.String(length=8), nullable=True))
    for table, prefix in (("plan_version", "created_by"), ("plan_review", "reviewed_by")):
        op.add_column(table, sa.Column(f"{prefix}_kind", sa.String(length=8), nullable=True))
        op.add_column(table, sa.Column(f"{prefix}_id", sa.Integer(), nullable=True))
    op.add_column(
        "app_user",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "app_user",
        sa.Column("is_system_admin", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("audit_event", sa.Column("key_id", sa.String(length=16), nullable=True))
    op.add_column("audit_chain_head", sa.Column("unkeyed_last_id", sa.Integer(), nullable=True))
    op.add_column("audit_chain_head", sa.Column("seal", sa.String(length=64), nullable=True))
    op.execute("UPDATE audit_chain_head SET unkeyed_last_id = last_id")

    _lift_immutability()
    op.execute(
        "UPDATE plan_version SET created_by_kind = "
        "CASE WHEN created_by_role IS NULL THEN 'client' ELSE 'user' END"
    )
    op.execute(
        "UPDATE plan_review SET reviewed_by_kind = "
        "CASE WHEN reviewed_by_role IS NULL THEN 'client' ELSE 'user' END"
    )
    _restore_immutability()
    op.execute(
        "UPDATE plan SET created_by_kind = COALESCE((SELECT v.created_by_kind FROM plan_version v "
        "WHERE v.plan_id = plan.id AND v.number = 1), 'user')"
    )
    # The first admin of the oldest clinic keeps managing clinics, as every admin did before.
    op.execute(
        "UPDATE app_user SET is_system_admin = TRUE WHERE id = (SELECT MIN(id) FROM app_user "
        "WHERE role = 'admin' AND clinic_id = (SELECT MIN(id) FROM clinic))"
    )


def downgrade() -> None:
    op.drop_column("audit_chain_head", "seal")
    op.drop_column("audit_chain_head", "unkeyed_last_id")
    op.drop_column("audit_event", "key_id")
    op.drop_column("app_user", "is_system_admin")
    op.drop_column("app_user", "must_change_password")
    for table, prefix in (("plan_review", "reviewed_by"), ("plan_version", "created_by")):
        op.drop_column(table, f"{prefix}_id")
        op.drop_column(table, f"{prefix}_kind")
    op.drop_column("plan", "created_by_kind")


def _lift_immutability() -> None:
    for table in IMMUTABLE:
        if op.get_bind().dialect.name == "sqlite":
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        else:
            op.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_immutable")


def _restore_immutability() -> None:
    for table in IMMUTABLE:
        if op.get_bind().dialect.name == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is immutable'); END"
                )
        else:
            op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_immutable")
