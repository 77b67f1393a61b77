"""`titrate audit verify` as an operator runs it: exit 0 with the count, or exit 1 naming the
first bad entry and why."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text

from app.db.engine import make_engine
from tests.conftest import TEST_SECRET
from tests.integration.audit.conftest import drop_scratch, populate, scratch_url

pytestmark = pytest.mark.records


@pytest.fixture(scope="module")
def small_database(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, schema = scratch_url(database_url, tmp_path_factory.mktemp("verify"))
    try:
        populate(url, patients=2)
        yield url
    finally:
        drop_scratch(database_url, schema)


def titrate_audit_verify(url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TITRATE_DATABASE_URL": url,
        "TITRATE_ENVIRONMENT": "test",
        "TITRATE_SECRET_KEY": TEST_SECRET,
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _tamper(url: str, statement: str, **params: object) -> None:
    """Commit a change behind the app's back, with the append-only trigger lifted for it."""
    engine = make_engine(url)
    with engine.begin() as connection:
        _lift_trigger(connection)
        connection.execute(text(statement), params)
        _restore_trigger(connection)
    engine.dispose()


def _lift_trigger(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP TRIGGER audit_event_no_update"))
        connection.execute(text("DROP TRIGGER audit_event_no_delete"))
    else:
        connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))


def _restore_trigger(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        connection.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
        return
    for verb in ("UPDATE", "DELETE"):
        connection.execute(
            text(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )
        )


def _count_and_newest(url: str) -> tuple[int, int, str | None]:
    engine = make_engine(url)
    with engine.connect() as connection:
        count = int(connection.scalar(text("SELECT count(*) FROM audit_event")) or 0)
        newest = int(connection.scalar(text("SELECT max(id) FROM audit_event")) or 0)
        reason = connection.scalar(text("SELECT reason FROM audit_event WHERE id = 3"))
    engine.dispose()
    return count, newest, reason


def test_verify_reports_ok_then_names_the_changed_and_the_deleted_entry(
    small_database: str,
) -> None:
    count, newest, original_reason = _count_and_newest(small_database)
    ok = titrate_audit_verify(small_database)
    assert (ok.returncode, ok.stdout.strip()) == (0, f"audit chain ok: {count} events")

    _tamper(small_database, "UPDATE audit_event SET reason = 'nothing to see' WHERE id = 3")
    changed = titrate_audit_verify(small_database)
    assert changed.returncode == 1
    assert changed.stderr.startswith("audit chain broken at id 3: hash mismatch")

    _tamper(small_database, "UPDATE audit_event SET reason = :r WHERE id = 3", r=original_reason)
    assert titrate_audit_verify(small_database).returncode == 0  # put back exactly: whole again

    _tamper(small_database, "DELETE FROM audit_event WHERE id = :id", id=newest)
    deleted = titrate_audit_verify(small_database)
    assert deleted.returncode == 1
    assert deleted.stderr.startswith(f"audit chain broken at id {newest}: gap in ids")
