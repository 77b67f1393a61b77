from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from app.db.engine import make_engine


@pytest.fixture
def sqlite_engine(tmp_path) -> Engine:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    yield engine
    engine.dispose()


def test_every_sqlite_connection_has_the_durability_settings(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        values = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert values == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }


def test_write_transactions_take_the_lock_up_front(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as first:
        first.execute(text("CREATE TABLE t (x INTEGER)"))
        first.commit()
    blocker = make_engine(sqlite_engine.url.render_as_string(), sqlite_busy_timeout_ms=5000)
    with sqlite_engine.connect() as first, blocker.connect() as second:
        first.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: first now holds the write lock
        second.connection.driver_connection.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
        with pytest.raises(Exception, match="locked"):
            second.execute(text("SELECT 1"))
        first.rollback()
    blocker.dispose()
