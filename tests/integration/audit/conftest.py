"""A private database of the backend under test, populated through the app itself.

SQLite: a file of its own. PostgreSQL (TEST_DATABASE_URL): a schema of its own in that
database, dropped afterwards. Either way the shared test database is never touched.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.cli import alembic_config
from app.config import Settings
from app.db.engine import make_engine, make_sessionmaker
from app.main import create_app
from tests.conftest import TEST_SECRET
from tests.factories.patients import patient_payload
from tests.factories.users import ensure_standard_users, make_token
from tests.web.helpers import log_in


def scratch_url(database_url: str, directory: Path) -> tuple[str, str | None]:
    """(url, schema): a new empty database of the same backend."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{directory / 'audit-scratch.db'}", None
    schema = f"audit_scratch_{uuid.uuid4().hex[:10]}"
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}options=-csearch_path%3D{schema}", schema


def drop_scratch(database_url: str, schema: str | None) -> None:
    if schema is None:
        return
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def populate(url: str, *, patients: int = 12) -> dict[str, int]:
    """Patients, plans (one with an override), reads and a failed login, through the API and
    the login page, as the app writes them. Returns the ids of a known patient and plan."""
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        ensure_standard_users(session)
        headers = {"Authorization": f"Bearer {make_token(session, name='populate')}"}
    engine.dispose()
    app = create_app(Settings(environment="test", database_url=url, secret_key=TEST_SECRET))
    known: dict[str, int] = {}
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        for n in range(patients):
            known.update(_patient_with_plans(client, headers, n))
        log_in(client, "paula.prescriber", password="not the password at all")
    return known


def _patient_with_plans(client: TestClient, headers: dict[str, str], n: int) -> dict[str, int]:
    conditions = ["epilepsy"] if n % 3 == 0 else []
    payload = patient_payload(
        given_name="Zoë" if n % 2 else "Testa", conditions=conditions, medications=[]
    )
    patient = client.post("/api/v1/patients", json=payload, headers=headers)
    assert patient.status_code == 201, patient.text
    patient_id = patient.json()["id"]
    overrides = [{"code": "epilepsy", "reason": f"controlled {n} years — neurologist agrees"}]
    body = {
        "plan_type": "oral_titration",
        "start_date": "2026-12-01",
        "indication": "multiple_sclerosis",
        "setting": "outpatient",
        "target_daily_dose": {"value": 60, "unit": "mg"},
        "current_daily_dose": None,
        "step_interval_days": None,
        "doses_per_day": None,
        "formulation": None,
        "intrathecal": None,
        "overrides": overrides if conditions else [],
        "acknowledged": [],
    }
    plan = client.post(f"/api/v1/patients/{patient_id}/plans", json=body, headers=headers)
    assert plan.status_code == 201, plan.text
    client.get(f"/api/v1/patients/{patient_id}", headers=headers)
    client.get(f"/api/v1/plans/{plan.json()['id']}", headers=headers)
    return {"patient_id": patient_id, "plan_id": plan.json()["id"], "mrn_serial": n}


@pytest.fixture(scope="module")
def populated(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, int]]]:
    url, schema = scratch_url(database_url, tmp_path_factory.mktemp("audit"))
    try:
        yield url, populate(url)
    finally:
        drop_scratch(database_url, schema)
