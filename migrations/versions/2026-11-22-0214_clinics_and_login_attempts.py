"""Clinics for users, API clients and patients; login attempts for rate limits

Every existing user, token and patient joins one "Default clinic", which a fresh database
also gets, so `titrate create-user` has a clinic to put the first admin in.

Revision ID: 2fcd84626f24
Revises: 6e286a3a7089
Create Date: 2026-11-22 02:14:46.678669
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "2fcd84626f24"
down_revision: str | None = "6e286a3a7089"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_CLINIC_ID = 1
CLINIC_MEMBERS = ("app_user", "api_token", "patient")


def upgrade() -> None:
    clinic = op.create_table(
        "clinic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic")),
        sa.UniqueConstraint("name", name=op.f("uq_clinic_name")),
    )
    op.bulk_insert(
        clinic,
        [{"id": DEFAULT_CLINIC_ID, "name": "Default clinic", "created_at": datetime.now(UTC)}],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('clinic', 'id'), 1)")

    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_login_attempt_account_at", ["account", "attempted_at"], unique=False
        )
        batch_op.create_index(
            "ix_login_attempt_client_ip_at", ["client_ip", "attempted_at"], unique=False
        )

    with _sqlite_foreign_keys_off():
        for table in CLINIC_MEMBERS:
            op.add_column(table, sa.Column("clinic_id", sa.Integer(), nullable=True))
            op.execute(f"UPDATE {table} SET clinic_id = {DEFAULT_CLINIC_ID}")
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.alter_column("clinic_id", existing_type=sa.Integer(), nullable=False)
                batch_op.create_index(batch_op.f(f"ix_{table}_clinic_id"), ["clinic_id"])
                batch_op.create_foreign_key(
                    batch_op.f(f"fk_{table}_clinic_id_clinic"), "clinic", ["clinic_id"], ["id"]
                )
                if table == "patient":
                    batch_op.drop_constraint(batch_op.f("uq_patient_mrn"), type_="unique")
                    batch_op.create_unique_constraint("uq_patient_clinic_mrn", ["clinic_id", "mrn"])


def downgrade() -> None:
    with _sqlite_foreign_keys_off():
        for table in reversed(CLINIC_MEMBERS):
            with op.batch_alter_table(table, schema=None) as batch_op:
                if table == "patient":
                    batch_op.drop_constraint("uq_patient_clinic_mrn", type_="unique")
                    batch_op.create_unique_constraint(batch_op.f("uq_patient_mrn"), ["mrn"])
                batch_op.drop_constraint(
                    batch_op.f(f"fk_{table}_clinic_id_clinic"), type_="foreignkey"
                )
                batch_op.drop_index(batch_op.f(f"ix_{table}_clinic_id"))
                batch_op.drop_column("clinic_id")

    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_client_ip_at")
        batch_op.drop_index("ix_login_attempt_account_at")
    op.drop_table("login_attempt")
    op.drop_table("clinic")


@contextmanager
def _sqlite_foreign_keys_off() -> Iterator[None]:
    """SQLite rebuilds a table to change a column; dropping the old copy would trip the foreign
    keys of child rows (plans point at patients), so keys are off for the rebuild and every key
    is checked before they come back on. PRAGMA foreign_keys is ignored inside a transaction,
    hence the autocommit blocks."""
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
