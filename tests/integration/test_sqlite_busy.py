"""What a clinician sees while another process holds SQLite's write lock too long, on a real
SQLite file (not the transactional test fixture) and the real app.

- Previews and page reads take no write lock (plain BEGIN, WAL): they are answered.
- A save waits up to busy_timeout, then gets 503 with Retry-After and says nothing was
  saved (an htmx request gets only the message, swapped into its own target); the API
  answers 503 problem+json. Never a 500.
- While a save waits for the lock in its worker thread, the same worker keeps answering
  other requests: nothing waits for the lock on the event loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from app.cli import alembic_config
from app.config import Settings
from app.db.engine import make_engine, make_sessionmaker
from app.main import create_app
from tests.conftest import TEST_SECRET
from tests.factories.sessions import log_in
from tests.factories.users import ensure_standard_users, make_token
from tests.web.helpers import HX, make_patient

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("busy") / "busy.db"
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with sessionmaker(bind=engine)() as session:
        ensure_standard_users(session)
    engine.dispose()
    return path


@pytest.fixture
def app(sqlite_file: Path) -> FastAPI:
    settings = Settings(
        environment="test", database_url=f"sqlite:///{sqlite_file}", secret_key=TEST_SECRET
    )
    return create_app(settings)


def _use_busy_timeout(app: FastAPI, sqlite_file: Path, milliseconds: int) -> None:
    """The app's settings refuse a busy_timeout under 5 s; these tests set their own."""
    engine = make_engine(f"sqlite:///{sqlite_file}", sqlite_busy_timeout_ms=milliseconds)
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)


@pytest.fixture
def lock(sqlite_file: Path) -> Iterator[sqlite3.Connection]:
    """Another process's long write transaction, as a plain sqlite3 connection holding it."""
    connection = sqlite3.connect(sqlite_file, isolation_level=None, check_same_thread=False)
    yield connection
    if connection.in_transaction:
        connection.execute("ROLLBACK")
    connection.close()


def _form(csrf: str) -> dict[str, Any]:
    return {
        "csrf_token": csrf, "plan_type": "oral_titration", "indication": "multiple_sclerosis",
        "setting": "outpatient", "start_date": "2031-03-03", "target_daily_dose": "30",
    }  # fmt: skip


def _save_form(csrf: str) -> dict[str, Any]:
    """A plan that saves without acknowledgements (as tests/web/test_planner.py saves)."""
    return _form(csrf) | {
        "plan_type": "itb_titration", "target_daily_dose": "", "itb_effective_bolus": "50",
        "itb_effect_duration_hours": "8",
    }  # fmt: skip


PATIENT = {
    "mrn": "BUSY-1", "given_name": "Busy", "family_name": "Fictional",
    "birth_date": "1981-05-02", "sex": "male", "weight_kg": 80, "height_cm": 180,
}  # fmt: skip


def test_a_held_lock_gives_previews_and_a_busy_message_never_a_500(
    app: FastAPI, sqlite_file: Path, lock: sqlite3.Connection
) -> None:
    with TestClient(app, follow_redirects=False) as client:
        _use_busy_timeout(app, sqlite_file, 200)
        with app.state.sessionmaker() as session:
            patient_id = make_patient(session).id
            token = make_token(session, "patients:write", name="busy-test")
        csrf = log_in(client)
        lock.execute("BEGIN IMMEDIATE")

        preview = client.post(f"/patients/{patient_id}/plans/preview", data=_form(csrf), headers=HX)
        assert preview.status_code == 200
        assert "30 mg/day" in preview.text

        page = client.post(f"/patients/{patient_id}/plans", data=_save_form(csrf))
        assert page.status_code == 503
        assert page.headers["Retry-After"] == "2"
        assert "Nothing was saved" in page.text

        fragment = client.post(f"/patients/{patient_id}/plans", data=_save_form(csrf), headers=HX)
        assert fragment.status_code == 503
        assert fragment.headers["HX-Reswap"] == "innerHTML"
        assert "<html" not in fragment.text
        assert 'role="alert"' in fragment.text

        api = client.post("/api/v1/patients", json={}, headers={"Authorization": f"Bearer {token}"})
        assert api.status_code in (422, 503)  # bad body: refused before any write
        lock.execute("ROLLBACK")

        saved = client.post(f"/patients/{patient_id}/plans", data=_save_form(csrf))
        assert saved.status_code == 303


def test_a_save_waiting_for_the_lock_does_not_stop_the_worker_answering_others(
    app: FastAPI, sqlite_file: Path, lock: sqlite3.Connection
) -> None:
    with TestClient(app, follow_redirects=False) as client:
        # Long enough that the save is still waiting when the preview has been answered.
        _use_busy_timeout(app, sqlite_file, 60_000)
        with app.state.sessionmaker() as session:
            patient_id = make_patient(session).id
        csrf = log_in(client)
        cookies = dict(client.cookies)

    async def scenario() -> tuple[int, int, bool]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", cookies=cookies
        ) as web:
            lock.execute("BEGIN IMMEDIATE")
            save = asyncio.create_task(
                web.post(f"/patients/{patient_id}/plans", data=_save_form(csrf))
            )
            await asyncio.sleep(0)  # the save is under way (waiting for the lock in a thread)
            preview = await web.post(
                f"/patients/{patient_id}/plans/preview", data=_form(csrf), headers=HX
            )
            save_was_waiting = not save.done()
            lock.execute("ROLLBACK")
            return preview.status_code, (await save).status_code, save_was_waiting

    with TestClient(app):  # the lifespan: engine and protocols
        _use_busy_timeout(app, sqlite_file, 60_000)
        # A loop of its own in its own thread: the session's Playwright (browser tests) keeps
        # one running in the main thread, where asyncio.run() is refused.
        with ThreadPoolExecutor(max_workers=1) as pool:
            preview_status, save_status, save_was_waiting = pool.submit(
                asyncio.run, scenario()
            ).result()
    assert preview_status == 200
    assert save_was_waiting
    assert save_status == 303


def test_the_lock_timeout_is_recognised_and_nothing_else() -> None:
    from sqlalchemy.exc import OperationalError

    from app.errors import is_lock_timeout

    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    other = OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    assert is_lock_timeout(locked)
    assert not is_lock_timeout(other)
    assert not is_lock_timeout(ValueError("database is locked"))
