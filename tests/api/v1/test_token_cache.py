"""Verified-token cache (services/token_cache.py): a hit costs no database work; a token
revoked on this instance is refused on its next request (tests/web/test_admin_tokens.py);
a token revoked by another instance is refused once the entry's lifetime has run out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event, update
from sqlalchemy.orm import Session

from app.db.models import ApiTokenRecord
from app.services import auth, token_cache
from app.services.context import Actor, utc_now
from app.services.token_cache import LIFETIME_SECONDS, VerifiedTokens

CLIENT = Actor(kind="token", id=7, name="lab", scopes=("patients:read",), clinic_id=1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The process's cache, on a clock the test moves."""
    fake = Clock()
    monkeypatch.setattr(token_cache.VERIFIED_TOKENS, "_clock", fake)
    return fake


@pytest.fixture
def statements(db_connection: Connection) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(db_connection, "before_cursor_execute", record)
    yield seen
    event.remove(db_connection, "before_cursor_execute", record)


def test_an_entry_lives_for_its_lifetime_and_no_longer() -> None:
    clock = Clock()
    cache = VerifiedTokens(lifetime_seconds=5, clock=clock)
    assert cache.lookup("tt_a") is None
    cache.remember("tt_a", CLIENT, None)
    assert cache.lookup("tt_a") == CLIENT
    assert cache.lookup("tt_b") is None
    clock.now += 4.9
    assert cache.lookup("tt_a") == CLIENT
    clock.now += 0.1
    assert cache.lookup("tt_a") is None


def test_a_token_that_expires_is_not_served_from_the_cache() -> None:
    cache = VerifiedTokens(lifetime_seconds=60, clock=Clock())
    cache.remember("tt_a", CLIENT, utc_now() - timedelta(seconds=1))
    assert cache.lookup("tt_a") is None


def test_forget_drops_every_entry_of_that_token_id_only() -> None:
    cache = VerifiedTokens(clock=Clock())
    other = Actor(kind="token", id=8, name="other", scopes=(), clinic_id=1)
    cache.remember("tt_a", CLIENT, None)
    cache.remember("tt_b", other, None)
    cache.forget(CLIENT.id or 0)
    assert cache.lookup("tt_a") is None
    assert cache.lookup("tt_b") == other


def test_the_cache_does_not_grow_without_bound() -> None:
    cache = VerifiedTokens(clock=Clock(), max_entries=3)
    for n in range(10):
        cache.remember(f"tt_{n}", CLIENT, None)
    assert len(cache._entries) <= 3
    assert cache.lookup("tt_9") == CLIENT


def test_a_verified_token_costs_no_database_work_until_its_entry_runs_out(
    client: TestClient, db: Session, clock: Clock, statements: list[str]
) -> None:
    token = auth.create_token(db, name="cached", scopes=("patients:read",), expires_at=None)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/patients", headers=headers).status_code == 200
    assert _token_lookups(statements) == 1
    for _ in range(3):
        assert client.get("/api/v1/patients", headers=headers).status_code == 200
    assert _token_lookups(statements) == 1
    clock.now += LIFETIME_SECONDS
    assert client.get("/api/v1/patients", headers=headers).status_code == 200
    assert _token_lookups(statements) == 2


def _token_lookups(statements: list[str]) -> int:
    return sum(s.lstrip().startswith("SELECT") and "FROM api_token" in s for s in statements)


def test_a_token_revoked_by_another_instance_is_refused_within_the_lifetime(
    client: TestClient, db: Session, clock: Clock
) -> None:
    token = auth.create_token(db, name="elsewhere", scopes=("patients:read",), expires_at=None)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/patients", headers=headers).status_code == 200
    # Another instance revokes it: the row changes, this process's cache is not told.
    db.execute(update(ApiTokenRecord).values(revoked_at=utc_now()))
    db.commit()
    clock.now += LIFETIME_SECONDS - 0.5
    assert client.get("/api/v1/patients", headers=headers).status_code == 200  # the bound
    clock.now += 0.5
    assert client.get("/api/v1/patients", headers=headers).status_code == 401


def test_an_unknown_token_is_never_remembered(client: TestClient, clock: Clock) -> None:
    headers = {"Authorization": "Bearer tt_not-a-token"}
    assert client.get("/api/v1/patients", headers=headers).status_code == 401
    assert token_cache.lookup("tt_not-a-token") is None
