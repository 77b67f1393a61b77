"""Live pick-up of approved protocol versions (issue 17): two app instances on one database,
sharing no memory. An approval on A reaches B's engine within B's check interval, and a
version approved from a later day reaches both on that day, without a restart.

Each app has its own engine and connections (TestClient runs its lifespan), on a database of
the suite's kind for this module alone (a SQLite file, or a PostgreSQL database of its own).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text

from app.cli import alembic_config
from app.config import Settings
from app.db.engine import make_engine, make_sessionmaker
from app.main import create_app
from app.services import protocol_feed
from app.services.context import utc_now
from tests.api.v1.test_plans import preview
from tests.conftest import TEST_SECRET
from tests.factories.users import ensure_standard_users, make_token

CHECK_SECONDS = 0.3


@pytest.fixture
def pickup_url(tmp_path: Path, database_url: str) -> Iterator[str]:
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'pickup.sqlite3'}"
        return
    url = make_url(database_url)
    name = f"{url.database}_pickup"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def tokens(pickup_url: str) -> dict[str, dict[str, str]]:
    command.upgrade(alembic_config(pickup_url), "head")
    engine = make_engine(pickup_url)
    with make_sessionmaker(engine)() as session:
        ensure_standard_users(session)
        made = {
            "writer": make_token(session, "protocols:write", name="pharm_a"),
            "approver": make_token(session, "protocols:approve", name="pharm_b"),
            "previewer": make_token(session, "plans:preview", name="previewer"),
        }
    engine.dispose()
    return {role: {"Authorization": f"Bearer {token}"} for role, token in made.items()}


def _instance(url: str) -> TestClient:
    settings = Settings(
        environment="test", database_url=url, secret_key=TEST_SECRET,
        protocol_check_seconds=CHECK_SECONDS,
    )  # fmt: skip
    return TestClient(create_app(settings), base_url="http://testserver")


def _oral_adult_used(client: TestClient, headers: dict[str, str]) -> tuple[str, int]:
    """(version of oral-adult the engine used, days of its first step) for a preview."""
    plan = preview(client, headers).json()
    used = {p["id"]: p["version"] for p in plan["protocols"]}
    steps = plan["steps"]
    return used["oral-adult"], steps[1]["start_day"] - steps[0]["start_day"]


def _draft_and_approve(
    a: TestClient, tokens: dict[str, dict[str, str]], version: int, days: str, on: date
) -> None:
    body: dict[str, Any] = {
        "parameters": {"interval_days": {"value": days, "source": "Clinic guideline 2026"}}
    }
    drafted = a.post("/api/v1/protocols/oral-adult/versions", json=body, headers=tokens["writer"])
    assert drafted.status_code == 201, drafted.text
    approved = a.post(
        f"/api/v1/protocols/oral-adult/versions/{version}/approve",
        json={"effective_from": on.isoformat()}, headers=tokens["approver"],
    )  # fmt: skip
    assert approved.status_code == 200, approved.text


def test_an_approval_on_one_instance_reaches_the_other_within_its_check_interval(
    pickup_url: str, tokens: dict[str, dict[str, str]]
) -> None:
    with _instance(pickup_url) as a, _instance(pickup_url) as b:
        previewer = tokens["previewer"]
        assert _oral_adult_used(b, previewer) == ("1", 3)
        _draft_and_approve(a, tokens, 2, "7", date.today())
        approved_at = time.monotonic()
        assert _oral_adult_used(a, previewer) == ("2", 7)  # the approving process: at once
        seen: tuple[str, int] = ("1", 3)
        while seen == ("1", 3) and time.monotonic() - approved_at < 10 * CHECK_SECONDS:
            time.sleep(CHECK_SECONDS / 3)
            seen = _oral_adult_used(b, previewer)
        assert seen == ("2", 7)
        assert time.monotonic() - approved_at < 10 * CHECK_SECONDS


def test_a_version_approved_from_tomorrow_reaches_both_instances_tomorrow(
    pickup_url: str, tokens: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = utc_now()
    today = now.date()
    clock = {"now": now}
    monkeypatch.setattr(protocol_feed, "utc_now", lambda: clock["now"])
    with _instance(pickup_url) as a, _instance(pickup_url) as b:
        previewer = tokens["previewer"]
        _draft_and_approve(a, tokens, 2, "7", today + timedelta(days=1))
        time.sleep(CHECK_SECONDS * 1.5)
        assert _oral_adult_used(a, previewer) == ("1", 3)
        assert _oral_adult_used(b, previewer) == ("1", 3)
        clock["now"] = now + timedelta(days=1)  # midnight passes: no wait for the interval
        assert _oral_adult_used(a, previewer) == ("2", 7)
        assert _oral_adult_used(b, previewer) == ("2", 7)
