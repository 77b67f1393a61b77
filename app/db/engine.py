"""Engine and session factory. SQLite gets the durability settings of RELIABILITY.md D5."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "titrate_read_only"


def make_engine(database_url: str, *, sqlite_busy_timeout_ms: int = 5000) -> Engine:
    if database_url.startswith("sqlite"):
        return _make_sqlite_engine(database_url, sqlite_busy_timeout_ms)
    return create_engine(database_url, pool_pre_ping=True)


def _create_private(path: str | None) -> None:
    """A new SQLite file is created 0600 (owner only): it holds patient data. SQLite gives
    its -wal and -shm files the main file's mode. An existing file keeps the mode it has."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except (FileExistsError, FileNotFoundError):
        return  # exists already, or its directory does not (SQLite reports that itself)
    os.close(descriptor)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def _make_sqlite_engine(database_url: str, busy_timeout_ms: int) -> Engine:
    engine = create_engine(database_url, connect_args={"check_same_thread": False})
    _create_private(engine.url.database)

    @event.listens_for(engine, "connect")
    def _configure_connection(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that we can say BEGIN IMMEDIATE
        # ourselves: a write transaction then waits for the lock up front (busy_timeout)
        # instead of failing with "database is locked" when it upgrades later.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Migrations step out of the transaction for statements SQLite ignores inside one
        # (PRAGMA foreign_keys); those run on an AUTOCOMMIT connection and must stay bare.
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
