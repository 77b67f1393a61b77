"""Login rate limits (RELIABILITY.md S7): counted in the database, refused without checking
the password, audited, keyed on the account and on a client address we can trust."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from ipaddress import ip_network

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from app.config import Settings
from app.db.engine import make_engine
from app.db.models import AuditEventRecord, LoginAttemptRecord
from app.main import create_app
from app.services import auth as auth_service
from app.services.context import utc_now
from app.web.login_guard import client_ip
from tests.factories.users import PASSWORD
from tests.web.helpers import log_in

WRONG = "not the password at all"


@pytest.fixture
def audit_mark(db: Session) -> int:
    """The newest audit id before the test: on a reused database older rows stay (append-only)."""
    return db.scalar(select(func.max(AuditEventRecord.id))) or 0


def _refusals(db: Session, after: int, *, address: str | None = None) -> list[AuditEventRecord]:
    query = select(AuditEventRecord).where(
        AuditEventRecord.action == "excess_rate_limit_exceeded", AuditEventRecord.id > after
    )
    if address is not None:
        query = query.where(AuditEventRecord.client_ip == address)
    return list(db.scalars(query.order_by(AuditEventRecord.id)))


def _limited_client(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    peer: str = "198.51.100.10",
    **limits: object,
) -> Iterator[TestClient]:
    application = create_app(settings.model_copy(update=limits))
    with TestClient(
        application, base_url="http://testserver", follow_redirects=False, client=(peer, 40000)
    ) as test_client:
        application.state.sessionmaker = session_factory
        yield test_client


@pytest.fixture
def ip_limited(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    """A client whose address may fail 3 times, whatever the account."""
    yield from _limited_client(
        settings,
        session_factory,
        login_max_failures_per_client_ip=3,
        login_max_failures_per_account=100,
    )


@pytest.fixture
def behind_proxy(
    settings: Settings, session_factory: sessionmaker[Session]
) -> Iterator[TestClient]:
    """As `ip_limited`, but the peer is our own proxy (10.0.0.0/8 is trusted)."""
    yield from _limited_client(
        settings,
        session_factory,
        peer="10.1.2.3",
        login_max_failures_per_client_ip=3,
        login_max_failures_per_account=100,
        login_trusted_proxies="10.0.0.0/8",
    )


class TestOneAccount:
    def test_fifty_wrong_passwords_within_a_minute_get_at_least_45_refusals_each_audited(
        self, client: TestClient, db: Session, audit_mark: int
    ) -> None:
        started = time.monotonic()
        statuses = [log_in(client, "paula.prescriber", WRONG).status_code for _ in range(50)]
        assert time.monotonic() - started < 60
        assert statuses.count(429) >= 45
        assert set(statuses) == {401, 429}
        refusals = _refusals(db, audit_mark)
        assert len(refusals) == statuses.count(429)
        assert all(event.outcome == "failure" for event in refusals)
        assert all(
            event.detail and event.detail["user"] == "paula.prescriber" for event in refusals
        )
        # Every attempt, checked or refused, is counted in the shared table.
        attempts = db.scalars(
            select(LoginAttemptRecord).where(LoginAttemptRecord.account == "paula.prescriber")
        ).all()
        assert len([a for a in attempts if not a.succeeded]) >= 50

    def test_a_refusal_is_429_with_retry_after_and_the_form_again(self, client: TestClient) -> None:
        for _ in range(5):
            assert log_in(client, "phil.pharmacist", WRONG).status_code == 401
        refused = log_in(client, "phil.pharmacist", WRONG)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 900
        assert "Too many failed logins" in refused.text
        assert 'name="password"' in refused.text
        assert 'value="phil.pharmacist"' in refused.text

    def test_the_correct_password_is_refused_too_while_the_account_is_locked(
        self, client: TestClient
    ) -> None:
        for _ in range(5):
            log_in(client, "vera.viewer", WRONG)
        refused = log_in(client, "vera.viewer", PASSWORD)
        assert refused.status_code == 429
        assert "not even the correct one" in refused.text
        assert "titrate_sid" not in client.cookies
        assert client.get("/patients").status_code == 303

    def test_an_unknown_account_is_refused_with_the_very_same_page(
        self, client: TestClient
    ) -> None:
        pages = {}
        for username in ("vera.viewer", "no.such.person"):
            for _ in range(5):
                log_in(client, username, WRONG)
            refused = log_in(client, username, WRONG)
            assert refused.status_code == 429
            pages[username] = _normalised(refused, username)
        assert pages["vera.viewer"] == pages["no.such.person"]

    def test_the_lock_ends_when_the_failures_leave_the_window(
        self, client: TestClient, db: Session
    ) -> None:
        for _ in range(6):
            log_in(client, "vera.viewer", WRONG)
        assert log_in(client, "vera.viewer", PASSWORD).status_code == 429
        # As if the failures had happened an hour ago.
        attempts = select(LoginAttemptRecord).where(LoginAttemptRecord.account == "vera.viewer")
        for attempt in db.scalars(attempts):
            attempt.attempted_at -= timedelta(hours=1)
        db.commit()
        assert log_in(client, "vera.viewer", PASSWORD).status_code == 303

    def test_a_successful_login_starts_the_count_again(self, client: TestClient) -> None:
        for _ in range(4):
            assert log_in(client, "vera.viewer", WRONG).status_code == 401
        assert log_in(client, "vera.viewer", PASSWORD).status_code == 303
        client.cookies.clear()
        for _ in range(4):
            assert log_in(client, "vera.viewer", WRONG).status_code == 401

    def test_case_does_not_give_an_attacker_fresh_counters(self, client: TestClient) -> None:
        for name in ("Vera.Viewer", "VERA.VIEWER", "vera.viewer", "vEra.viewer", "vera.vieweR"):
            assert log_in(client, name, WRONG).status_code == 401
        assert log_in(client, "vera.viewer", PASSWORD).status_code == 429


class TestClientAddress:
    def test_many_accounts_from_one_address_are_refused_after_its_limit(
        self, ip_limited: TestClient, db: Session, audit_mark: int
    ) -> None:
        for n in range(3):
            assert log_in(ip_limited, f"spray.{n}", WRONG).status_code == 401
        assert log_in(ip_limited, "paula.prescriber", PASSWORD).status_code == 429
        (event,) = _refusals(db, audit_mark, address="198.51.100.10")
        assert event.detail is not None
        assert event.detail["user"] == "paula.prescriber"
        assert 1 <= event.detail["retry_after_seconds"] <= 30  # the first lockout step

    def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(
        self, ip_limited: TestClient, db: Session, audit_mark: int
    ) -> None:
        statuses = []
        for n in range(5):
            ip_limited.headers["X-Forwarded-For"] = f"203.0.113.{n}"
            statuses.append(log_in(ip_limited, f"spray.{n}", WRONG).status_code)
        assert statuses == [401, 401, 401, 429, 429]
        assert {e.client_ip for e in _refusals(db, audit_mark)} == {"198.51.100.10"}

    def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(
        self, behind_proxy: TestClient, db: Session, audit_mark: int
    ) -> None:
        # Different clients behind the proxy have their own counters...
        for n in range(5):
            behind_proxy.headers["X-Forwarded-For"] = f"203.0.113.{n}"
            assert log_in(behind_proxy, f"spray.{n}", WRONG).status_code == 401
        # ...and a client cannot hide by prepending addresses: the proxy's own hop counts.
        statuses = []
        for n in range(4):
            behind_proxy.headers["X-Forwarded-For"] = f"192.0.2.{n}, 203.0.113.200"
            statuses.append(log_in(behind_proxy, f"other.{n}", WRONG).status_code)
        assert statuses == [401, 401, 401, 429]
        assert {e.client_ip for e in _refusals(db, audit_mark)} == {"203.0.113.200"}


def _normalised(response: Response, username: str) -> str:
    """The page without what differs by nature: the form token and the typed username."""
    text = re.sub(r'value="[A-Za-z0-9_-]{40,}"', 'value="TOKEN"', response.text)
    return text.replace(username, "USERNAME")


@pytest.fixture
def real_database(settings: Settings, migrated_engine: object) -> Iterator[tuple[Settings, str]]:
    """The session's database without the rollback wrapper: two apps must see each other's
    commits. Leaves no login attempts behind (audit rows stay, as they must)."""
    account = f"instances.{uuid.uuid4().hex[:10]}"
    yield settings, account
    engine = make_engine(settings.database_url)
    with sessionmaker(bind=engine)() as session:
        session.execute(
            LoginAttemptRecord.__table__.delete().where(LoginAttemptRecord.account == account)
        )
        session.commit()
    engine.dispose()


def test_a_second_app_instance_sees_the_same_counters(
    real_database: tuple[Settings, str],
) -> None:
    settings, account = real_database
    peer = ("192.0.2.77", 40000)
    first: FastAPI = create_app(settings)
    second: FastAPI = create_app(settings)
    kwargs = {"base_url": "http://testserver", "follow_redirects": False, "client": peer}
    with TestClient(first, **kwargs) as one, TestClient(second, **kwargs) as two:  # type: ignore[arg-type]
        assert one.app is not two.app
        for _ in range(5):
            assert log_in(one, account, WRONG).status_code == 401
        assert log_in(two, account, WRONG).status_code == 429
        assert log_in(one, account, WRONG).status_code == 429


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("198.51.100.1", "203.0.113.9", "198.51.100.1"),  # untrusted peer: header ignored
        ("10.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.1", "1.2.3.4, 203.0.113.9, 10.0.0.5", "203.0.113.9"),  # skips our proxies
        ("10.0.0.1", "", "10.0.0.1"),
        ("10.0.0.1", "10.0.0.7, 10.0.0.5", "10.0.0.7"),  # only proxies: the farthest one
        ("10.0.0.1", "not-an-address", "10.0.0.1"),  # garbage from a proxy: keep the peer
        ("10.0.0.1", "2001:DB8::1", "2001:db8::1"),
    ],
)
def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(
    peer: str, forwarded: str, expected: str
) -> None:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    request = Request({"type": "http", "client": (peer, 1234), "headers": headers})
    assert client_ip(request, (ip_network("10.0.0.0/8"),)) == expected


def test_the_slow_password_check_holds_no_database_lock(
    real_database: tuple[Settings, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a transaction holds the one write lock: argon2 must run outside it, or every
    login would stall every other write for most of a second."""
    settings, account = real_database
    checking, release = threading.Event(), threading.Event()

    def slow_check(password_hash: str | None, password: str) -> bool:
        checking.set()
        release.wait(10)
        return False

    monkeypatch.setattr(auth_service, "_password_matches", slow_check)
    outcome: list[int] = []
    engine = make_engine(settings.database_url)
    with TestClient(create_app(settings), follow_redirects=False, client=("192.0.2.78", 1)) as web:
        login = threading.Thread(
            target=lambda: outcome.append(log_in(web, account, WRONG).status_code)
        )
        login.start()
        try:
            assert checking.wait(10), "the login never reached the password check"
            started = time.monotonic()
            with sessionmaker(bind=engine)() as other_writer:
                other_writer.add(
                    LoginAttemptRecord(
                        account=account, client_ip=None, attempted_at=utc_now(), succeeded=False
                    )
                )
                other_writer.commit()
            assert time.monotonic() - started < 1, "a write waited for the password check"
        finally:
            release.set()
            login.join(10)
    engine.dispose()
    assert outcome == [401]
