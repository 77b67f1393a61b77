"""Every write leaves exactly one audit row, in the same transaction as the write."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, PatientRecord
from app.services import audit
from app.services import patients as patient_service
from app.services.context import Actor
from tests.factories.patients import patient_payload

ACTOR = Actor(
    kind="user", id=1, name="paula.prescriber", role="prescriber", request_id="r1", clinic_id=1
)


def _facts(**overrides: object):  # type: ignore[no-untyped-def]
    from app.domain.patients import PatientFacts

    values = dict(
        mrn="AUD-1", given_name="Testa", family_name="Auditova", birth_date=date(1980, 1, 1),
        sex="female", weight_kg=None, height_cm=None, serum_creatinine_value=None,
        serum_creatinine_unit=None, serum_creatinine_on=None, creatinine_clearance_ml_min=None,
        dialysis=False, pregnant=False, breastfeeding=False, conditions=(), medications=(),
        spinal_injury_level=None, brain_injury_on=None, preferred_language="en",
    )  # fmt: skip
    values.update(overrides)
    return PatientFacts(**values)  # type: ignore[arg-type]


def _events(db: Session, action: str, patient_id: int) -> list[AuditEventRecord]:
    query = select(AuditEventRecord).where(
        AuditEventRecord.action == action, AuditEventRecord.patient_id == patient_id
    )
    return list(db.scalars(query))


def test_create_update_archive_each_write_one_audit_row_with_versions(db: Session) -> None:
    record = patient_service.create_patient(
        db, actor=ACTOR, facts=_facts(), today=date(2026, 11, 22)
    )
    patient_service.update_patient(
        db, actor=ACTOR, patient_id=record.id, expected_version=1, changes={"family_name": "Neu"},
        today=date(2026, 11, 22),
    )  # fmt: skip
    patient_service.archive_patient(
        db, actor=ACTOR, patient_id=record.id, expected_version=2, reason="duplicate"
    )
    (created,) = _events(db, "patient.create", record.id)
    (updated,) = _events(db, "patient.update", record.id)
    (archived,) = _events(db, "patient.archive", record.id)
    assert (created.old_version, created.new_version) == (None, 1)
    assert (updated.old_version, updated.new_version) == (1, 2)
    assert updated.detail == {"fields": ["family_name"]}
    assert (archived.old_version, archived.new_version, archived.reason) == (2, 3, "duplicate")
    assert created.actor_name == "paula.prescriber"
    assert created.request_id == "r1"


def test_a_failure_after_the_write_leaves_neither_the_record_nor_the_audit_row(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("disk full while auditing")

    before = db.scalar(select(func.count()).select_from(AuditEventRecord))
    monkeypatch.setattr(audit, "add_audit_event", explode)
    with pytest.raises(RuntimeError):
        patient_service.create_patient(
            db, actor=ACTOR, facts=_facts(mrn="AUD-FAIL"), today=date(2026, 11, 22)
        )
    db.rollback()
    assert db.scalar(select(PatientRecord).where(PatientRecord.mrn == "AUD-FAIL")) is None
    assert db.scalar(select(func.count()).select_from(AuditEventRecord)) == before


def test_the_api_answers_a_failed_write_with_a_clean_500_and_keeps_nothing(
    app: FastAPI,
    session_factory,
    auth_headers_factory,
    monkeypatch: pytest.MonkeyPatch,
    db: Session,
) -> None:  # type: ignore[no-untyped-def]
    headers = auth_headers_factory()

    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("SELECT secret FROM settings")

    monkeypatch.setattr(audit, "add_audit_event", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.sessionmaker = session_factory
        response = client.post(
            "/api/v1/patients", json=patient_payload(mrn="AUD-500"), headers=headers
        )
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    for leak in ("Traceback", "SELECT", "RuntimeError", 'File "'):
        assert leak not in response.text
    assert db.scalar(select(PatientRecord).where(PatientRecord.mrn == "AUD-500")) is None


def test_patient_data_never_reaches_the_technical_log(
    client: TestClient, auth_headers_factory, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    headers = auth_headers_factory()
    canary = {
        "given_name": "Zebulon",
        "family_name": "Quorthwaite",
        "mrn": "CANARY-77731",
        "birth_date": "1977-07-31",
    }
    caplog.set_level(logging.DEBUG)
    created = client.post(
        "/api/v1/patients", json=patient_payload(**canary), headers=headers
    ).json()
    client.get("/api/v1/patients", params={"q": "Quorthwaite"}, headers=headers)
    client.get(f"/api/v1/patients/{created['id']}", headers=headers)
    client.post("/api/v1/patients", json=patient_payload(**canary), headers=headers)  # 409
    client.post(
        "/api/v1/patients",
        json=patient_payload(**{**canary, "weight_kg": "Quorthwaite"}),
        headers=headers,
    )
    # Server-side loggers only: httpx's own client log of the test's requests is not the app's.
    server_side = ("titrate", "uvicorn", "sqlalchemy", "alembic", "fastapi", "starlette")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(server_side))
    assert "path=/api/v1/patients" in logged  # the log did capture the requests
    for value in canary.values():
        assert value not in logged


def test_log_lines_cannot_be_forged_with_newlines(caplog: pytest.LogCaptureFixture) -> None:
    from app.logs import configure_logging

    configure_logging("INFO")
    handler = logging.getLogger("titrate").handlers[0]
    record = logging.LogRecord(
        "titrate.x", logging.INFO, __file__, 1, "path=%s", ("/a\r\nFAKE entry",), None
    )
    assert "\n" not in handler.format(record)
    assert "\\r\\n" in handler.format(record)
