"""Shared fixtures: a real database built by migrations, an app per test, rollback isolation.

The database is a SQLite file under pytest's temp dir, or TEST_DATABASE_URL (PostgreSQL in
CI). Each `db_connection` test runs inside one outer transaction; services' commits become
savepoints (join_transaction_mode="create_savepoint"), and everything is rolled back after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from app.cli import alembic_config
from app.config import Settings
from app.db.audit_chain import AuditKey, AuditKeys, derive_key, install_keys
from app.db.engine import make_engine
from app.main import create_app
from app.services import auth as auth_service
from app.services import session_cache
from app.services.token_cache import VERIFIED_TOKENS
from tests.browser.chromium import browser  # noqa: F401 (the one Chromium of the session)
from tests.factories.users import ensure_standard_users

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
# Audit rows written by factories before any app exists are keyed like the test apps' rows.
SUITE_AUDIT_KEYS = AuditKeys(AuditKey(derive_key(TEST_SECRET)))
install_keys(SUITE_AUDIT_KEYS)

# Logins are in almost every web test, and argon2 at the production cost (64 MiB, t=3) takes
# 0.2-0.7 s per login on a two-core CI machine: minutes per run. The suite hashes with the same
# algorithm at the lowest cost; the tests of the hasher's own strength and of the unknown-user
# timing ask for `production_password_hasher`. Servers the resilience tests start are separate
# processes and keep the production cost.
PRODUCTION_HASHER = (auth_service._hasher, auth_service._DUMMY_HASH)
_cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
SUITE_HASHER = (_cheap, _cheap.hash("not-a-real-password"))


def _use_hasher(hasher_and_dummy: tuple[PasswordHasher, str]) -> None:
    auth_service._hasher, auth_service._DUMMY_HASH = hasher_and_dummy


_use_hasher(SUITE_HASHER)


@pytest.fixture
def production_password_hasher() -> Iterator[PasswordHasher]:
    """The app's real argon2 parameters and dummy hash for one test (the suite runs on a
    cheap hasher)."""
    _use_hasher(PRODUCTION_HASHER)
    yield PRODUCTION_HASHER[0]
    _use_hasher(SUITE_HASHER)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    path: Path = tmp_path_factory.mktemp("db") / "titrate-test.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    command.upgrade(alembic_config(database_url), "head")
    engine = make_engine(database_url)
    with sessionmaker(bind=engine)() as session:
        ensure_standard_users(session)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Request limits out of the way of the suite; test_trust_round_two_rate_limits sets its own.
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key=TEST_SECRET,
        token_requests_per_minute=100_000,
        user_requests_per_minute=100_000,
        request_burst=10_000,
    )


@pytest.fixture
def db_connection(migrated_engine: Engine) -> Iterator[Connection]:
    with migrated_engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session_factory(db_connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=db_connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def app(
    settings: Settings, session_factory: sessionmaker[Session], db_connection: Connection
) -> FastAPI:
    application = create_app(settings)
    application.state.test_session_factory = session_factory
    return application


@pytest.fixture
def client(app: FastAPI, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        # Replace what the lifespan made so every request joins the test's transaction.
        app.state.sessionmaker = session_factory
        yield test_client


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    """Each test starts with no verified tokens or login sessions remembered
    (services/token_cache.py, services/session_cache.py)."""
    VERIFIED_TOKENS.clear()
    session_cache.VERIFIED_SESSIONS.clear()
    yield
    VERIFIED_TOKENS.clear()
    session_cache.VERIFIED_SESSIONS.clear()


@pytest.fixture(autouse=True)
def _suite_audit_keys() -> Iterator[None]:
    """Each test starts with the suite's audit key installed: the keys are per process, and an
    app or CLI run with another secret (or TITRATE_AUDIT_KEY) installs its own, which would
    otherwise key the next test's factory-written rows with a key its checks do not know."""
    install_keys(SUITE_AUDIT_KEYS)
    yield
    install_keys(SUITE_AUDIT_KEYS)


@pytest.fixture
def auth_headers_factory(db: Session):  # type: ignore[no-untyped-def]
    from tests.factories.users import make_token

    def make(*scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(db, *scopes)}"}

    return make
