"""Backup and restore drill (RELIABILITY.md D4, R11; runbook docs/operations/backup.md).

A populated database is backed up with `titrate backup` while another thread keeps writing
through the API. The copy is checked (manifest: integrity, foreign keys, audit chain, row
counts at least those counted before the backup began, SHA-256), restored to a fresh place,
verified with `titrate audit verify`, and the app boots on it and serves a known patient.
SQLite by default; PostgreSQL (pg_dump, pg_restore into a fresh database) when
TEST_DATABASE_URL points there.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db.engine import make_engine, make_sessionmaker
from app.main import create_app
from tests.conftest import TEST_SECRET
from tests.factories.patients import patient_payload
from tests.factories.users import make_token
from tests.integration.audit.conftest import populate

pytestmark = pytest.mark.records

WRITER_LIMIT = 400  # writes; the thread also stops when the drill is done
WRITER_SECONDS = 60


def titrate(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TITRATE_DATABASE_URL": url,
        "TITRATE_ENVIRONMENT": "test",
        "TITRATE_SECRET_KEY": TEST_SECRET,
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class Writer:
    """Creates patients through the API until told to stop; counts acknowledged writes."""

    url: str
    token: str
    acknowledged: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        app = create_app(
            Settings(environment="test", database_url=self.url, secret_key=TEST_SECRET)
        )
        headers = {"Authorization": f"Bearer {self.token}"}
        deadline = time.monotonic() + WRITER_SECONDS
        with TestClient(app) as client:
            while not self.stop.is_set() and len(self.acknowledged) < WRITER_LIMIT:
                if time.monotonic() > deadline:
                    break
                response = client.post("/api/v1/patients", json=patient_payload(), headers=headers)
                if response.status_code == 201:
                    self.acknowledged.append(time.monotonic())
                else:
                    self.failures.append(f"{response.status_code} {response.text[:200]}")
                time.sleep(0.01)  # a steady stream, not a CPU hog on a shared machine


@pytest.fixture
def pg_databases(database_url: str) -> Iterator[list[str]]:
    """PostgreSQL databases a test creates (URLs), dropped afterwards."""
    created: list[str] = []
    yield created
    for url in created:
        _drop_pg_database(database_url, url)


@pytest.fixture
def drill_database(database_url: str, tmp_path: Path, pg_databases: list[str]) -> str:
    """A database of its own: a file, or a whole PostgreSQL database (pg_dump takes all)."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'live.db'}"
    pg_databases.append(_create_pg_database(database_url, "titrate_drill"))
    return pg_databases[-1]


def test_an_online_backup_restores_to_a_working_copy(
    drill_database: str, tmp_path: Path, pg_databases: list[str]
) -> None:
    url = drill_database
    known = populate(url, patients=4)
    writer = Writer(url, _token(url))
    thread = threading.Thread(target=writer.run, daemon=True)
    thread.start()
    _wait_for(lambda: len(writer.acknowledged) >= 5)
    counts_before = _row_counts(url)
    target = tmp_path / ("backup.db" if url.startswith("sqlite") else "backup.dump")
    backup_started = time.monotonic()
    backed_up = titrate(url, "backup", "--to", str(target))
    backup_finished = time.monotonic()
    _wait_for(lambda: any(t > backup_finished for t in writer.acknowledged))  # still writing
    writer.stop.set()
    thread.join(timeout=30)

    assert backed_up.returncode == 0, backed_up.stderr
    assert writer.failures == []
    manifest = json.loads(Path(f"{target}.manifest.json").read_text(encoding="utf-8"))
    assert manifest["ok"] is True
    assert manifest["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    restored_url, restore_seconds = _restore(url, target, tmp_path)
    if not url.startswith("sqlite"):
        pg_databases.append(restored_url)

    verified = titrate(restored_url, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    restored_counts = _row_counts(restored_url)
    for name, count in counts_before.items():
        assert restored_counts[name] >= count, name
    if url.startswith("sqlite"):
        assert manifest["row_counts"] == restored_counts
        assert manifest["integrity_check"] == "ok"
        assert manifest["audit_chain"]["ok"] is True
    _serves_known_patient(restored_url, known["patient_id"])
    print(  # noqa: T201 - the drill's figures for the closing note (pytest -s)
        f"\nbackup drill ({make_url(url).get_backend_name()}): titrate backup "
        f"{backup_finished - backup_started:.2f} s (copy and checks "
        f"{manifest['duration_seconds']} s) while {len(writer.acknowledged)} writes were "
        f"acknowledged; restore {restore_seconds:.2f} s; "
        f"{restored_counts['audit_event']} audit events verified"
    )


# `titrate restore` and the checks of a copy work on SQLite files whatever the backend under
# test, so these two always run on a file of their own.


def test_a_backup_that_changed_after_it_was_taken_is_not_restored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'small.db'}"
    populate(url, patients=1)
    backup = tmp_path / "small-backup.db"
    assert titrate(url, "backup", "--to", str(backup)).returncode == 0
    again = titrate(url, "backup", "--to", str(backup))
    assert again.returncode == 1
    assert "never overwrites" in again.stderr
    with backup.open("r+b") as stream:
        stream.seek(-1, os.SEEK_END)
        last = stream.read(1)
        stream.seek(-1, os.SEEK_END)
        stream.write(bytes([last[0] ^ 0xFF]))
    refused = titrate(url, "restore", "--from", str(backup), "--to", str(tmp_path / "r.db"))
    assert refused.returncode == 1
    assert "does not match the SHA-256" in refused.stderr
    assert not (tmp_path / "r.db").exists()


def test_a_database_whose_audit_chain_is_broken_gives_a_failed_backup(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    populate(url, patients=1)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER audit_event_no_update"))
        connection.execute(text("UPDATE audit_event SET actor_name = 'someone else' WHERE id = 2"))
    engine.dispose()
    target = tmp_path / "broken-backup.db"
    result = titrate(url, "backup", "--to", str(target))
    assert result.returncode == 1
    assert "audit chain broken at id 2: hash mismatch" in result.stderr
    assert not target.exists()
    manifest = json.loads((tmp_path / "broken-backup.db.failed.manifest.json").read_text())
    assert manifest["ok"] is False


def _restore(url: str, backup: Path, directory: Path) -> tuple[str, float]:
    started = time.monotonic()
    if url.startswith("sqlite"):
        target = directory / "restored.db"
        restored = titrate(url, "restore", "--from", str(backup), "--to", str(target))
        assert restored.returncode == 0, restored.stderr
        return f"sqlite:///{target}", time.monotonic() - started
    restored_url = _create_pg_database(url, "titrate_restored")
    target = make_url(restored_url)
    # The documented command (docs/operations/backup.md), into a fresh, empty database.
    completed = subprocess.run(
        [
            "pg_restore",
            "--exit-on-error",
            "--no-owner",
            f"--host={target.host}",
            f"--port={target.port or 5432}",
            f"--username={target.username}",
            f"--dbname={target.database}",
            str(backup),
        ],
        env={**os.environ, "PGPASSWORD": target.password or ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return restored_url, time.monotonic() - started


def _serves_known_patient(url: str, patient_id: int) -> None:
    token = _token(url)
    app = create_app(Settings(environment="test", database_url=url, secret_key=TEST_SECRET))
    with TestClient(app) as client:
        response = client.get(
            f"/api/v1/patients/{patient_id}", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == patient_id


def _token(url: str) -> str:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        token = make_token(session, name=f"drill-{uuid.uuid4().hex[:6]}")
    engine.dispose()
    return token


def _row_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        names = inspect(connection).get_table_names()
        counts = {
            name: int(connection.scalar(select(func.count()).select_from(table(name))) or 0)
            for name in names
        }
    engine.dispose()
    return counts


def _wait_for(condition: object, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting for the writer"
        time.sleep(0.02)


def _create_pg_database(server_url: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    engine = make_engine(server_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    engine = make_engine(make_url(server_url).set(database="postgres").render_as_string(False))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()
