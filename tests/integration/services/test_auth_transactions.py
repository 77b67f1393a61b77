"""Authentication checks hold no lock: they run before every handler, in every worker.

Found by tests/resilience/test_concurrent_writers.py: on SQLite the token lookup began the
request's BEGIN IMMEDIATE transaction and kept the database's single write lock until the
handler's service committed, so sixteen writers on two workers queued behind each other's
dependency hops until busy_timeout gave "database is locked".
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.services import auth
from app.services.context import Actor
from app.services.errors import AuthenticationFailed
from app.services.rate_limit import LoginLimits
from tests.factories.users import PASSWORD, make_token


@contextmanager
def another_writer_holds_a_lock(database_url: str) -> Iterator[None]:
    """Another process mid-write: SQLite's write lock, or a PostgreSQL row lock on a token."""
    if database_url.startswith("sqlite"):
        other = sqlite3.connect(database_url.split("///", 1)[1], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.rollback()
            other.close()
        return
    with psycopg.connect(database_url.replace("+psycopg", "")) as pg:
        pg.execute("SELECT id FROM api_token FOR UPDATE")
        yield


def test_a_token_check_neither_waits_for_a_writer_nor_keeps_a_transaction_open(
    migrated_engine: Engine, database_url: str
) -> None:
    with Session(migrated_engine) as setup:
        token = make_token(setup, name="lock-probe")
    with another_writer_holds_a_lock(database_url), Session(migrated_engine) as session:
        started = time.monotonic()
        client = auth.authenticate_token(session, token=token)
        waited = time.monotonic() - started
        assert not session.in_transaction()
    assert client.name == "lock-probe"
    assert waited < 2, f"the token check waited {waited:.1f} s for another writer"


def test_a_refused_token_leaves_no_transaction_open(migrated_engine: Engine) -> None:
    with Session(migrated_engine) as session:
        with pytest.raises(AuthenticationFailed):
            auth.authenticate_token(session, token="tt_not-a-token")
        assert not session.in_transaction()


def test_resuming_a_web_session_leaves_no_transaction_open(migrated_engine: Engine) -> None:
    policy = auth.SessionPolicy(idle=timedelta(minutes=15), absolute=timedelta(hours=12))
    limits = LoginLimits(100, 100, timedelta(minutes=1), timedelta(seconds=1), timedelta(1))
    anonymous = Actor(kind="anonymous", id=None, name="anonymous")
    with Session(migrated_engine) as setup:
        login = auth.log_in(
            setup, username="vera.viewer", password=PASSWORD, policy=policy, limits=limits,
            actor=anonymous,
        )  # fmt: skip
    with Session(migrated_engine) as session:
        resumed = auth.resume_session(session, session_id=login.session_id, policy=policy)
        assert not session.in_transaction()
    assert resumed.username == "vera.viewer"
    with Session(migrated_engine) as session:
        with pytest.raises(AuthenticationFailed):
            auth.resume_session(session, session_id="not-a-session", policy=policy)
        assert not session.in_transaction()
