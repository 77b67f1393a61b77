"""Verified-session cache (services/session_cache.py): a hit costs no database work and no
thread hop; it never extends a session past its idle or absolute limit nor skips a due
idle-clock write; every revocation is refused on the next request on this instance, and a
change this process is not told about (another instance's) within the cache's lifetime."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.db.models import UserRecord, UserSessionRecord
from app.main import create_app
from app.services import auth, session_cache, verified_cache
from app.services.auth import LoginSession, sha256_hex
from app.services.context import utc_now
from app.services.session_cache import VerifiedSessions
from app.web import deps
from tests.web.admin_helpers import log_in_admin, second_client, user_id
from tests.web.helpers import log_in

LOGIN = LoginSession("sid-a", 7, "paula.prescriber", "prescriber", "csrf", 1)
LATER = utc_now() + timedelta(hours=1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the cache on its own -------------------------------------------------------------------


def test_an_entry_lives_for_its_lifetime_and_no_longer() -> None:
    clock = Clock()
    cache = VerifiedSessions(lifetime_seconds=5, clock=clock)
    cache.remember("sid-a", LOGIN, LATER, read_since=cache.generation())
    assert cache.lookup("sid-a") == LOGIN
    assert cache.lookup("sid-b") is None
    clock.now += 4.9
    assert cache.lookup("sid-a") == LOGIN
    clock.now += 0.1
    assert cache.lookup("sid-a") is None


def test_an_entry_is_never_used_past_its_usable_until() -> None:
    cache = VerifiedSessions(lifetime_seconds=60, clock=Clock())
    cache.remember("sid-a", LOGIN, utc_now() - timedelta(seconds=1), read_since=0)
    assert cache.lookup("sid-a") is None


def test_forget_drops_that_session_or_every_session_of_that_user_only() -> None:
    cache = VerifiedSessions(clock=Clock())
    other = LoginSession("sid-c", 8, "vera.viewer", "viewer", "csrf", 1)
    for sid, login in (("sid-a", LOGIN), ("sid-b", LOGIN), ("sid-c", other)):
        cache.remember(sid, login, LATER, read_since=cache.generation())
    cache.forget_session("sid-a")
    assert cache.lookup("sid-a") is None
    assert cache.lookup("sid-b") == LOGIN
    cache.forget_user(LOGIN.user_id)
    assert cache.lookup("sid-b") is None
    assert cache.lookup("sid-c") == other


def test_a_check_that_raced_a_forget_is_not_remembered() -> None:
    """A request read the session before a logout committed and remembers after it: the
    logout's forget must win, or the ended session would be served for 5 s more."""
    cache = VerifiedSessions(clock=Clock())
    read_since = cache.generation()  # the request starts its database check
    cache.forget_session("sid-a")  # the logout commits meanwhile
    cache.remember("sid-a", LOGIN, LATER, read_since=read_since)
    assert cache.lookup("sid-a") is None


def test_the_cache_does_not_grow_without_bound() -> None:
    cache = VerifiedSessions(clock=Clock(), max_entries=3)
    for n in range(10):
        cache.remember(f"sid-{n}", LOGIN, LATER, read_since=0)
    assert len(cache._entries) <= 3
    assert cache.lookup("sid-9") == LOGIN


# --- through the app ------------------------------------------------------------------------


@pytest.fixture
def statements(db_connection: Connection) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(db_connection, "before_cursor_execute", record)
    yield seen
    event.remove(db_connection, "before_cursor_execute", record)


@pytest.fixture
def wall_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], None]:
    """Moves the wall clock that the session check and the cache read (utc_now)."""

    def move(by: timedelta) -> None:
        moved = utc_now() + by
        for module in (auth, verified_cache):
            monkeypatch.setattr(module, "utc_now", lambda: moved)

    return move


@pytest.fixture
def served(app: FastAPI, client: TestClient) -> FastAPI:
    """The app with its lifespan running and the test's sessionmaker (tests/conftest.py)."""
    return app


def _session_reads(statements: list[str]) -> int:
    return sum(s.lstrip().startswith("SELECT") and "FROM user_session" in s for s in statements)


def _stored(db: Session, client: TestClient) -> UserSessionRecord:
    db.expire_all()
    key = sha256_hex(client.cookies["titrate_sid"])
    return db.scalars(select(UserSessionRecord).where(UserSessionRecord.id_sha256 == key)).one()


def _signed_in(app: FastAPI, username: str = "paula.prescriber") -> TestClient:
    browser = second_client(app)
    assert log_in(browser, username).status_code == 303
    assert browser.get("/patients").status_code == 200  # verified and remembered
    assert session_cache.lookup(browser.cookies["titrate_sid"]) is not None
    return browser


def _refused(browser: TestClient) -> bool:
    response = browser.get("/patients")
    return response.status_code == 303 and "/login" in response.headers["location"]


def test_a_verified_session_costs_no_database_read_and_no_thread_hop(
    served: FastAPI, statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = _signed_in(served)
    hops: list[Any] = []
    real = run_in_threadpool

    async def counting(func: Callable[..., Any], *args: Any) -> Any:
        if func is deps._resume:
            hops.append(func)
        return await real(func, *args)

    monkeypatch.setattr(deps, "run_in_threadpool", counting)
    reads = _session_reads(statements)
    for _ in range(3):
        assert browser.get("/patients").status_code == 200
    assert _session_reads(statements) == reads
    assert hops == []
    session_cache.VERIFIED_SESSIONS.clear()
    assert browser.get("/patients").status_code == 200
    assert _session_reads(statements) == reads + 1
    assert len(hops) == 1


def test_a_due_idle_clock_write_still_happens(
    served: FastAPI, db: Session, wall_clock: Callable[[timedelta], None]
) -> None:
    """The idle clock moves at most every 30 s: 29 s on, the cached copy answers and nothing
    is written; 31 s on (well within the cache's 5 s on the monotonic clock, had the wall
    clock not moved) the copy is no longer used, and the database check moves the clock."""
    browser = _signed_in(served)
    seen = _stored(db, browser).last_seen_at
    wall_clock(timedelta(seconds=29))
    assert browser.get("/patients").status_code == 200
    assert _stored(db, browser).last_seen_at == seen
    wall_clock(timedelta(seconds=31))
    assert browser.get("/patients").status_code == 200
    assert _stored(db, browser).last_seen_at > seen + timedelta(seconds=30)


def test_an_idle_session_ends_although_it_was_cached(
    served: FastAPI, db: Session, settings: Any, wall_clock: Callable[[timedelta], None]
) -> None:
    browser = _signed_in(served)
    wall_clock(timedelta(minutes=settings.session_idle_minutes, seconds=1))
    assert _refused(browser)
    assert _stored(db, browser).ended_at is not None


def test_a_session_past_its_absolute_limit_is_refused_although_it_was_cached(
    served: FastAPI, db: Session, wall_clock: Callable[[timedelta], None]
) -> None:
    browser = _signed_in(served)
    stored = _stored(db, browser)
    # Keep it from being idle at that moment: only the absolute limit is passed.
    db.execute(
        update(UserSessionRecord)
        .where(UserSessionRecord.id == stored.id)
        .values(expires_at=utc_now() + timedelta(seconds=20))
    )
    db.commit()
    session_cache.VERIFIED_SESSIONS.clear()
    assert browser.get("/patients").status_code == 200  # remembered, with the new limit
    wall_clock(timedelta(seconds=21))
    assert _refused(browser)


def _post(browser: TestClient, path: str, **data: str) -> int:
    from tests.web.helpers import header_csrf

    csrf = header_csrf(browser.get("/patients").text)
    return int(browser.post(path, data={"csrf_token": csrf, **data}).status_code)


def _admin(app: FastAPI) -> tuple[TestClient, str]:
    admin = second_client(app)
    return admin, log_in_admin(admin)


def _logout(app: FastAPI, db: Session, browser: TestClient) -> None:
    assert _post(browser, "/logout") == 303


def _own_password_change(app: FastAPI, db: Session, browser: TestClient) -> None:
    from tests.factories.users import PASSWORD

    new = "another quite long passphrase 42"
    status = _post(
        browser, "/account/password", current_password=PASSWORD, password=new, password_again=new
    )
    assert status == 303


def _admin_disables(app: FastAPI, db: Session, browser: TestClient) -> None:
    admin, csrf = _admin(app)
    paula = user_id(db, "paula.prescriber")
    response = admin.post(f"/admin/users/{paula}/disable", data={"csrf_token": csrf})
    assert response.status_code == 303


def _admin_resets_password(app: FastAPI, db: Session, browser: TestClient) -> None:
    admin, csrf = _admin(app)
    paula = user_id(db, "paula.prescriber")
    response = admin.post(f"/admin/users/{paula}/password", data={"csrf_token": csrf})
    assert response.status_code == 201


@pytest.mark.parametrize(
    "revoke", [_logout, _own_password_change, _admin_disables, _admin_resets_password]
)
def test_each_revocation_is_refused_on_the_next_request_on_this_instance(
    served: FastAPI, db: Session, revoke: Callable[[FastAPI, Session, TestClient], None]
) -> None:
    browser = _signed_in(served)
    cookie = browser.cookies["titrate_sid"]
    revoke(served, db, browser)
    browser.cookies.set("titrate_sid", cookie)  # as a stolen copy of the cookie would
    assert _refused(browser)


def test_a_role_change_is_seen_on_the_next_request_on_this_instance(
    served: FastAPI, db: Session
) -> None:
    browser = _signed_in(served)
    cookie = browser.cookies["titrate_sid"]
    admin, csrf = _admin(served)
    paula = user_id(db, "paula.prescriber")
    response = admin.post(f"/admin/users/{paula}/role", data={"csrf_token": csrf, "role": "viewer"})
    assert response.status_code == 303
    assert browser.get("/patients").status_code == 200
    login = session_cache.lookup(cookie)
    assert login is not None
    assert login.role == "viewer"


def test_another_instance_refuses_a_disabled_user_within_the_cache_lifetime(
    settings: Any,
    session_factory: sessionmaker[Session],
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second app on the same database, with a 1 s cache. The user is disabled by a commit
    this process is not told about (as another instance's, or the CLI's, would be): the
    cached copy may answer until its lifetime runs out, and not a moment longer."""
    lifetime = 1.0
    monkeypatch.setattr(
        session_cache, "VERIFIED_SESSIONS", VerifiedSessions(lifetime_seconds=lifetime)
    )
    other = create_app(settings)
    with TestClient(other, base_url="http://testserver", follow_redirects=False) as browser:
        other.state.sessionmaker = session_factory
        assert log_in(browser, "paula.prescriber").status_code == 303
        assert browser.get("/patients").status_code == 200
        verified_at = time.monotonic()
        db.execute(
            update(UserRecord)
            .where(UserRecord.username == "paula.prescriber")
            .values(is_active=False)
        )
        db.commit()
        answers: list[tuple[float, int]] = []
        while time.monotonic() - verified_at < lifetime + 0.5:
            answers.append((time.monotonic() - verified_at, browser.get("/patients").status_code))
            time.sleep(0.05)
    late = [status for elapsed, status in answers if elapsed >= lifetime]
    assert late, answers
    assert set(late) == {303}, answers
    # The bound is real: before it ran out, the cached copy still answered.
    assert all(status == 200 for elapsed, status in answers if elapsed < lifetime / 2), answers
