"""The audit table is append-only (RELIABILITY.md A3): on SQLite by trigger; on PostgreSQL
by trigger and by the privileges of the application role that docs/operations/audit.md sets
up — this test runs that very block of SQL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db.repositories.audit import AuditActor, AuditEntry, add_audit_event

DOC = Path(__file__).resolve().parents[3] / "docs" / "operations" / "audit.md"
APPEND_ONLY = ("audit_event", "plan_version", "plan_review")
PROBE_ACTOR = AuditActor("system", None, "privilege-probe", None, None, None)


def grant_statements(role: str, schema: str) -> list[str]:
    """The documented SQL, for a throwaway role and the schema under test."""
    block = DOC.read_text(encoding="utf-8").split("<!-- app-role-grants", 1)[1]
    sql = block.split("```sql", 1)[1].split("```", 1)[0]
    sql = re.sub(r"\btitrate_app\b", role, sql)
    sql = re.sub(r"\bpublic\b", schema, sql)
    sql = sql.replace("LOGIN PASSWORD 'change-me'", "NOLOGIN")
    return [statement.strip() for statement in sql.split(";") if statement.strip()]


@pytest.fixture
def connection(migrated_engine: Engine) -> Iterator[Connection]:
    with migrated_engine.connect() as conn:
        conn.begin()
        yield conn
        conn.rollback()  # takes the role, the grants and the probe rows with it


def _refused(connection: Connection, statement: str) -> str:
    nested = connection.begin_nested()
    with pytest.raises(DBAPIError) as caught:
        connection.execute(text(statement))
    nested.rollback()
    return str(caught.value.orig)


def test_changing_or_removing_audit_rows_is_refused(connection: Connection) -> None:
    add_audit_event(
        Session(bind=connection),
        actor=PROBE_ACTOR,
        entry=AuditEntry("probe.event", "probe"),
        at=datetime.now(UTC),
    )
    if connection.dialect.name == "sqlite":
        # SQLite has no roles: the trigger is the guard.
        for statement in ("UPDATE audit_event SET reason = 'forged'", "DELETE FROM audit_event"):
            assert "append-only" in _refused(connection, statement)
        return
    _privileges_alone_refuse(connection)


def _privileges_alone_refuse(connection: Connection) -> None:
    role = f"titrate_app_probe_{uuid.uuid4().hex[:8]}"
    schema = connection.scalar(text("SELECT current_schema()"))
    for statement in grant_statements(role, str(schema)):
        connection.execute(text(statement))
    # Lift the trigger (inside this transaction): only the privileges stand in the way now.
    connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    connection.execute(text(f"SET ROLE {role}"))

    # The application role still does its job: it can add audit rows to the chain.
    add_audit_event(
        Session(bind=connection),
        actor=PROBE_ACTOR,
        entry=AuditEntry("probe.as_app_role", "probe"),
        at=datetime.now(UTC),
    )
    for statement in (
        "UPDATE audit_event SET reason = 'forged'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "UPDATE plan_version SET reason = 'forged'",
        "DELETE FROM plan_review",
    ):
        assert "permission denied" in _refused(connection, statement), statement
    connection.execute(text("RESET ROLE"))

    for table in APPEND_ONLY:
        for privilege, expected in (("INSERT", True), ("UPDATE", False), ("DELETE", False)):
            granted = connection.scalar(
                text("SELECT has_table_privilege(:role, :table, :privilege)"),
                {"role": role, "table": table, "privilege": privilege},
            )
            assert granted is expected, (table, privilege)
