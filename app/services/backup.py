"""Backups and restores (RELIABILITY.md D4, runbook in docs/operations/backup.md).

SQLite: the online backup API copies a consistent snapshot while the app keeps writing
(never a file copy of a live database). The copy is checked before it counts as a backup:
`PRAGMA integrity_check`, `foreign_key_check`, the audit hash chain, row counts (at least
those counted just before the copy began) — and its SHA-256 goes into a manifest beside it.
PostgreSQL: `pg_dump -Fc` (a consistent snapshot of its own), checked with `pg_restore
--list`, with the same manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3

# bandit B404: pg_dump and pg_restore, see _run.
import subprocess  # nosec B404
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, inspect, select, table
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from app.services.audit_chain import ChainReport, verify_chain

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = "titrate-backup/1"


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    manifest_path: Path
    manifest: dict[str, Any]
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


def manifest_path_for(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def backup_sqlite(source: Path, target: Path) -> BackupResult:
    """Copy a live SQLite database to `target` and check the copy; writes the manifest."""
    _refuse_existing(target)
    started, clock = datetime.now(UTC), time.monotonic()
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    _create_private(partial)
    with closing(sqlite3.connect(source, timeout=30)) as live:
        counts_at_start = _sqlite_counts(live)
        with closing(sqlite3.connect(partial)) as copy:
            # One step (pages=-1): the whole snapshot under one read transaction, so writers
            # committing meanwhile (WAL) never force the copy to restart.
            live.backup(copy, pages=-1)
            # A self-contained file: no -wal sidecar to lose when the copy is moved.
            copy.execute("PRAGMA journal_mode=DELETE")
    checks = check_sqlite_file(partial)
    problems = checks.problems + _shrunk_tables(counts_at_start, checks.row_counts)
    final = target if not problems else target.with_name(target.name + ".failed")
    os.replace(partial, final)
    manifest = {
        "format": MANIFEST_FORMAT,
        "backend": "sqlite",
        "file": final.name,
        "sha256": _sha256(final),
        "size_bytes": final.stat().st_size,
        "started_at": started.isoformat(),
        "duration_seconds": round(time.monotonic() - clock, 3),
        "row_counts_at_start": counts_at_start,
        **checks.as_manifest(),
        "ok": not problems,
        "problems": list(problems),
    }
    return _write_manifest(final, manifest, problems)


@dataclass(frozen=True, slots=True)
class FileChecks:
    integrity: str
    foreign_key_violations: int
    row_counts: dict[str, int]
    schema_revision: str | None
    chain: ChainReport

    @property
    def problems(self) -> tuple[str, ...]:
        found = []
        if self.integrity != "ok":
            found.append(f"integrity_check: {self.integrity}")
        if self.foreign_key_violations:
            found.append(f"foreign_key_check: {self.foreign_key_violations} violations")
        if not self.chain.ok:
            found.append(self.chain.summary())
        return tuple(found)

    def as_manifest(self) -> dict[str, Any]:
        return {
            "schema_revision": self.schema_revision,
            "integrity_check": self.integrity,
            "foreign_key_violations": self.foreign_key_violations,
            "row_counts": self.row_counts,
            "audit_chain": {
                "ok": self.chain.ok,
                "events": self.chain.checked,
                "last_id": self.chain.last_id,
                # Kept outside the database, this anchors the chain: a later rewrite of the
                # whole table cannot reproduce the hash recorded here.
                "last_hash": self.chain.last_hash,
                "summary": self.chain.summary(),
            },
        }


def check_sqlite_file(path: Path) -> FileChecks:
    """Read-only checks of a database file that no app is using (a backup or a restore)."""
    uri = path.resolve().as_uri() + "?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        integrity = "; ".join(row[0] for row in connection.execute("PRAGMA integrity_check"))
        violations = len(connection.execute("PRAGMA foreign_key_check").fetchall())
        counts = _sqlite_counts(connection)
        revision = _schema_revision(connection)
    with _read_only_engine(uri) as engine, Session(engine) as session:
        chain = verify_chain(session)
    return FileChecks(integrity, violations, counts, revision, chain)


def restore_sqlite(backup: Path, target: Path) -> FileChecks:
    """Put a checked backup at `target` (a path the app is not using) and check it there.

    The SHA-256 in the manifest must match first: a backup that changed since it was taken
    is refused, not restored.
    """
    _refuse_existing(target)
    manifest = json.loads(manifest_path_for(backup).read_text(encoding="utf-8"))
    if manifest.get("sha256") != _sha256(backup):
        raise BackupError(f"{backup.name} does not match the SHA-256 in its manifest")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    _create_private(partial)
    uri = backup.resolve().as_uri() + "?mode=ro"
    with (
        closing(sqlite3.connect(uri, uri=True)) as source,
        closing(sqlite3.connect(partial)) as copy,
    ):
        source.backup(copy, pages=-1)
    checks = check_sqlite_file(partial)
    if checks.problems:
        raise BackupError("the restored copy failed its checks: " + "; ".join(checks.problems))
    os.replace(partial, target)
    return checks


class BackupError(RuntimeError):
    pass


# --- PostgreSQL ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PgCommand:
    argv: list[str]
    env: dict[str, str]

    def display(self) -> str:
        # The password travels in PGPASSWORD, never on the command line (ps shows argv).
        return " ".join(self.argv)


def pg_dump_command(database_url: str, target: Path) -> PgCommand:
    url = make_url(database_url)
    argv = ["pg_dump", "--format=custom", f"--file={target}"]
    argv += [f"--host={url.host or '127.0.0.1'}", f"--port={url.port or 5432}"]
    if url.username:
        argv.append(f"--username={url.username}")
    argv.append(str(url.database))
    env = {"PGPASSWORD": url.password} if url.password else {}
    return PgCommand(argv, {str(k): str(v) for k, v in env.items()})


def backup_postgresql(database_url: str, target: Path) -> BackupResult:
    """Run pg_dump -Fc; the live chain is verified first and its head goes in the manifest."""
    _refuse_existing(target)
    started, clock = datetime.now(UTC), time.monotonic()
    engine = create_engine(database_url)
    try:
        counts_at_start = _engine_counts(engine)
        # One snapshot for the head and every row: under READ COMMITTED a write committed
        # between the head's read and the rows' read looked like rows the chain never linked.
        with Session(engine.execution_options(isolation_level="REPEATABLE READ")) as session:
            chain = verify_chain(session)
    finally:
        engine.dispose()
    command = pg_dump_command(database_url, target)
    _create_private(target)
    _run(command)
    _run(PgCommand(["pg_restore", "--list", str(target)], {}))  # the archive reads back
    problems = () if chain.ok else (chain.summary(),)
    manifest = {
        "format": MANIFEST_FORMAT,
        "backend": "postgresql",
        "file": target.name,
        "sha256": _sha256(target),
        "size_bytes": target.stat().st_size,
        "started_at": started.isoformat(),
        "duration_seconds": round(time.monotonic() - clock, 3),
        "row_counts_at_start": counts_at_start,
        "audit_chain_at_start": {
            "ok": chain.ok,
            "events": chain.checked,
            "last_id": chain.last_id,
            "last_hash": chain.last_hash,
        },
        "ok": not problems,
        "problems": list(problems),
    }
    return _write_manifest(target, manifest, problems)


def has_pg_dump() -> bool:
    return shutil.which("pg_dump") is not None and shutil.which("pg_restore") is not None


# --- helpers ---------------------------------------------------------------------------


def _run(command: PgCommand) -> None:
    # pg_dump/pg_restore by name with an argument list (no shell); the arguments are the
    # operator's database URL and backup path, never request input.
    completed = subprocess.run(  # nosec B603
        command.argv,
        env={**os.environ, **command.env},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise BackupError(f"{command.argv[0]} failed: {completed.stderr.strip()[:500]}")


def _refuse_existing(target: Path) -> None:
    if target.exists():
        raise BackupError(f"{target} exists; a backup never overwrites a file")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory")


def _sqlite_counts(connection: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    quoted = {name: '"' + name.replace('"', '""') + '"' for name in names}
    # Table names from sqlite_master, quoted as identifiers: no input reaches the SQL.
    counts = {name: f"SELECT count(*) FROM {quoted[name]}" for name in names}  # nosec B608
    return {name: int(connection.execute(query).fetchone()[0]) for name, query in counts.items()}


def _engine_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        names = sorted(inspect(connection).get_table_names())
        return {
            name: int(connection.scalar(select(func.count()).select_from(table(name))) or 0)
            for name in names
        }


def _schema_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return str(row[0]) if row else None


def _shrunk_tables(before: dict[str, int], after: dict[str, int]) -> tuple[str, ...]:
    return tuple(
        f"{name}: {after.get(name, 0)} rows in the copy, {count} before it began"
        for name, count in before.items()
        if after.get(name, 0) < count
    )


@contextmanager
def _read_only_engine(uri: str) -> Iterator[Engine]:
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    try:
        yield engine
    finally:
        engine.dispose()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_manifest(
    backup: Path, manifest: dict[str, Any], problems: tuple[str, ...]
) -> BackupResult:
    path = manifest_path_for(backup)
    _create_private(path)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return BackupResult(backup, path, manifest, problems)


def _create_private(path: Path) -> None:
    """Backups and manifests are owner-only (0600): a copy of the database is patient data."""
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
