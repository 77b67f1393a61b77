"""Issue 13, "Forged identities": a token is shown as a client everywhere, never as a
person; its name follows the username rules and is never a username; it gets exactly the
scopes asked for; nobody reviews a version they created (409 self_review)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cli import alembic_config, main
from app.config import get_settings
from app.db.engine import make_engine
from app.db.models import ApiTokenRecord
from app.services import auth
from app.services.errors import InvalidInput
from tests.api.v1.test_plans import plan_body
from tests.factories.patients import patient_payload
from tests.factories.users import make_token
from tests.web.helpers import log_in


def _plan_by_token(client: TestClient, headers: dict[str, str]) -> int:
    payload = patient_payload(sex="male", weight_kg=80, height_cm=180, medications=["oxycodone"])
    patient = client.post("/api/v1/patients", json=payload, headers=headers).json()["id"]
    made = client.post(f"/api/v1/patients/{patient}/plans", json=plan_body(), headers=headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


@pytest.mark.parametrize("name", ["phil.pharmacist", "PHIL.PHARMACIST", "\u0440hil.pharmacist"])
def test_forged_identities_token_named_like_a_user_is_refused(db: Session, name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        auth.create_token(db, name=name, scopes=("plans:read",), expires_at=None)
    assert refused.value.problems[0].field == "name"


def test_forged_identities_username_taken_by_a_token_is_refused(db: Session) -> None:
    auth.create_token(db, name="ward_seven_ehr", scopes=("plans:read",), expires_at=None)
    with pytest.raises(InvalidInput):
        auth.create_user(
            db, username="ward_seven_ehr", password="a long enough password", role="viewer"
        )


def test_forged_identities_free_text_token_names_are_refused(db: Session) -> None:
    for name in ("Dr. Paula Prescriber", "pharmacist a", "ab", "x" * 65, "ehr-gateway"):
        with pytest.raises(InvalidInput):
            auth.create_token(db, name=name, scopes=("plans:read",), expires_at=None)


def test_forged_identities_client_is_shown_as_a_client_on_pages_prints_and_fhir(
    client: TestClient, db: Session
) -> None:
    headers = {"Authorization": f"Bearer {make_token(db, name='pharmacist_a')}"}
    plan = _plan_by_token(client, headers)
    api = client.get(f"/api/v1/plans/{plan}", headers=headers).json()
    assert (api["created_by"], api["created_by_kind"]) == ("pharmacist_a", "client")
    fhir = client.get(f"/api/v1/plans/{plan}/fhir", headers=headers).json()
    request = next(
        e["resource"] for e in fhir["entry"] if e["resource"]["resourceType"] == "MedicationRequest"
    )
    assert request["requester"] == {"type": "Device", "display": "pharmacist_a (API client)"}
    log_in(client, "paula.prescriber")
    page = client.get(f"/plans/{plan}").text
    assert 'pharmacist_a <span class="actor-kind">(API client)</span>' in page
    printed = client.get(f"/plans/{plan}/print?lang=en").text
    assert "pharmacist_a (API client)" in printed
    summary = client.get(f"/plans/{plan}/summary").text
    assert "pharmacist_a (API client)" in summary


def test_forged_identities_token_cannot_review_the_version_it_created(
    client: TestClient, db: Session
) -> None:
    headers = {"Authorization": f"Bearer {make_token(db, name='all_scopes_ehr')}"}
    plan = _plan_by_token(client, headers)
    review = client.post(
        f"/api/v1/plans/{plan}/reviews",
        json={"acknowledged": ["opioid"], "note": ""},
        headers={**headers, "If-Match": '"1"'},
    )
    assert review.status_code == 409
    assert review.json()["code"] == "self_review"
    other = {"Authorization": f"Bearer {make_token(db, 'plans:review', name='pharmacy_ehr')}"}
    accepted = client.post(
        f"/api/v1/plans/{plan}/reviews",
        json={"acknowledged": ["opioid"], "note": ""},
        headers={**other, "If-Match": '"1"'},
    )
    assert accepted.status_code == 201
    assert accepted.json()["reviewed_by_kind"] == "client"


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    command.upgrade(alembic_config(url), "head")
    monkeypatch.setenv("TITRATE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _stored_token(url: str, name: str) -> ApiTokenRecord:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            query = select(ApiTokenRecord).where(ApiTokenRecord.name == name)
            return session.scalars(query).one()
    finally:
        engine.dispose()


def test_forged_identities_cli_token_without_scope_is_refused_not_all_scopes(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["create-token", "--name", "no_scope_asked"])
    assert refused.value.code == 2
    assert "--scope" in capsys.readouterr().err
    assert main(["create-token", "--name", "reader", "--scope", "plans:read"]) == 0
    assert _stored_token(cli_database, "reader").scopes == ["plans:read"]


def test_cli_tokens_expire_unless_no_expiry(
    cli_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["create-token", "--name", "default_expiry", "--scope", "plans:read"]) == 0
    expires = _stored_token(cli_database, "default_expiry").expires_at
    assert expires is not None
    expected = datetime.now(UTC) + timedelta(days=90)
    assert abs((expires.replace(tzinfo=UTC) - expected).total_seconds()) < 3600
    assert main(["create-token", "--name", "forever", "--scope", "plans:read", "--no-expiry"]) == 0
    assert _stored_token(cli_database, "forever").expires_at is None
