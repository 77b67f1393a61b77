"""Where a benchmark size lives: a SQLite file, or its own PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Database:
    url: str
    sqlite_path: Path | None = None

    def size_mib(self) -> float:
        if self.sqlite_path is not None:
            return self.sqlite_path.stat().st_size / MIB
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                size = conn.scalar(text("SELECT pg_database_size(current_database())"))
            return int(size or 0) / MIB
        finally:
            engine.dispose()

    def wal_mib(self) -> float | None:
        """The SQLite write-ahead log's size (None on PostgreSQL, which manages its own)."""
        if self.sqlite_path is None:
            return None
        wal = self.sqlite_path.with_name(self.sqlite_path.name + "-wal")
        return wal.stat().st_size / MIB if wal.exists() else 0.0

    def remove(self) -> None:
        """Delete a SQLite file with its -wal and -shm (postgres_database drops its own)."""
        if self.sqlite_path is not None:
            for suffix in ("", "-wal", "-shm"):
                self.sqlite_path.with_name(self.sqlite_path.name + suffix).unlink(missing_ok=True)


def sqlite_database(path: Path) -> Database:
    return Database(f"sqlite:///{path}", path)


@contextmanager
def postgres_database(base_url: str, size: int) -> Iterator[Database]:
    """A fresh database named after the base URL's and the size, dropped afterwards."""
    url = make_url(base_url)
    name = f"{url.database}_{size}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield Database(url.set(database=name).render_as_string(hide_password=False))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
