"""Losing a write race is a stale version or a replay, never a server error.

Two requests can both pass a service's version check (or idempotency lookup) before either
commits; PostgreSQL then lets the slower one reach its UPDATE or INSERT and fail there
(tests/resilience/test_concurrent_writers.py showed 500s). These tests reproduce that
interleaving in one transaction: between the check and the write, the row is changed behind
the ORM's back, as the winner's commit would change it. (The loser's rollback takes that
stand-in write with it here, so the tests check the outcome, not the version read back.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.api.v1.plan_mapping import plan_input_to_domain
from app.api.v1.plan_schemas import PlanCreate
from app.db.models import PlanRecord
from app.domain.patients import PatientFacts
from app.domain.titration import load_protocols
from app.domain.titration.library import ProtocolSet
from app.domain.titration.model import Patient, PlanRequest
from app.services import auth
from app.services import patients as patient_service
from app.services import plans as plan_service
from app.services.context import Actor
from app.services.errors import Conflict, StaleVersion
from app.services.plans import SaveOptions

CLIENT = Actor(kind="token", id=990, name="race-tests", scopes=auth.SCOPES, clinic_id=1)
TODAY = date(2026, 11, 22)


@pytest.fixture(scope="module")
def protocols() -> ProtocolSet:
    return load_protocols()


def _request_for(**overrides: Any) -> Callable[[Patient], PlanRequest]:
    body = PlanCreate.model_validate(
        {"plan_type": "oral_titration", "start_date": "2026-12-01",
         "indication": "multiple_sclerosis", "target_daily_dose": {"value": 60, "unit": "mg"},
         **overrides}
    )  # fmt: skip
    return lambda patient: plan_input_to_domain(body, patient=patient, today=TODAY)


def _patient(db: Session, mrn: str) -> int:
    """A made-up adult whose plans need no acknowledgement (renal function known)."""
    facts = PatientFacts(
        mrn=mrn, given_name="Testa", family_name="Racer", birth_date=date(1981, 5, 2),
        sex="male", weight_kg=Decimal(80), height_cm=Decimal(180),
        serum_creatinine_value=Decimal("0.9"), serum_creatinine_unit="mg/dL",
        serum_creatinine_on=date(2026, 11, 1), creatinine_clearance_ml_min=None,
        dialysis=False, pregnant=False, breastfeeding=False, conditions=(), medications=(),
        spinal_injury_level=None, brain_injury_on=None, preferred_language="en",
    )  # fmt: skip
    return patient_service.create_patient(db, actor=CLIENT, facts=facts, today=TODAY).id


def _plan(db: Session, protocols: ProtocolSet, patient_id: int, key: str | None = None) -> int:
    options = SaveOptions(idempotency_key=key, request_fingerprint="same-body")
    record, _, created = plan_service.create_plan(
        db, actor=CLIENT, protocols=protocols, patient_id=patient_id,
        request_for=_request_for(), options=options,
    )  # fmt: skip
    assert created
    return record.id


def _meanwhile(db: Session, sql: str, request_for: Callable[[Patient], PlanRequest]):  # type: ignore[no-untyped-def]
    """A request_for that lets "the other request" commit its write first."""

    def build(patient: Patient) -> PlanRequest:
        db.execute(text(sql))
        return request_for(patient)

    return build


def test_a_revision_that_loses_the_race_is_a_stale_version(
    db: Session, protocols: ProtocolSet
) -> None:
    plan_id = _plan(db, protocols, _patient(db, "RACE-1"))
    winner = f"UPDATE plan SET current_version = 2, lock_version = 2 WHERE id = {plan_id}"
    with pytest.raises(StaleVersion) as lost:
        plan_service.revise_plan(
            db, actor=CLIENT, protocols=protocols, plan_id=plan_id, expected_version=1,
            reason="slower", request_for=_meanwhile(db, winner, _request_for()),
            options=SaveOptions(),
        )  # fmt: skip
    assert lost.value.expected == 1


def test_a_state_change_that_loses_the_race_is_stale_or_a_conflict(
    db: Session, protocols: ProtocolSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_id = _plan(db, protocols, _patient(db, "RACE-2"))
    original = plan_service._load_current

    def load_then_lose(*args: Any) -> PlanRecord:
        record = original(*args)
        db.execute(text(f"UPDATE plan SET lock_version = lock_version + 1 WHERE id = {plan_id}"))
        return record

    monkeypatch.setattr(plan_service, "_load_current", load_then_lose)
    with pytest.raises(StaleVersion):
        plan_service.change_state(
            db, actor=CLIENT, plan_id=plan_id, expected_version=1, new_state="on_hold",
            reason="admitted",
        )  # fmt: skip
    with pytest.raises(Conflict):
        plan_service.change_state(
            db, actor=CLIENT, plan_id=plan_id, expected_version=None, new_state="on_hold",
            reason="admitted",
        )  # fmt: skip


def _update(db: Session, patient_id: int) -> None:
    patient_service.update_patient(
        db, actor=CLIENT, patient_id=patient_id, expected_version=1,
        changes={"family_name": "Later"}, today=TODAY,
    )  # fmt: skip


def _archive(db: Session, patient_id: int) -> None:
    patient_service.archive_patient(
        db, actor=CLIENT, patient_id=patient_id, expected_version=1, reason="duplicate"
    )


@pytest.mark.parametrize("write", [_update, _archive])
def test_a_patient_write_that_loses_the_race_is_a_stale_version(
    db: Session, monkeypatch: pytest.MonkeyPatch, write: Callable[[Session, int], None]
) -> None:
    patient_id = _patient(db, f"RACE-3{write.__name__.replace('_', '-')}")
    original = patient_service._load

    def load_then_lose(*args: Any) -> Any:
        record = original(*args)
        db.execute(text(f"UPDATE patient SET version = 2 WHERE id = {patient_id}"))
        return record

    monkeypatch.setattr(patient_service, "_load", load_then_lose)
    with pytest.raises(StaleVersion) as lost:
        write(db, patient_id)
    assert lost.value.expected == 1


def test_a_create_that_loses_the_idempotency_race_returns_the_winners_plan(
    db: Session, protocols: ProtocolSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient_id = _patient(db, "RACE-4")
    first = _plan(db, protocols, patient_id, key="race-key")
    original = plan_service._replayed
    lookups: list[object] = []

    def not_yet_committed(*args: Any) -> Any:
        # The loser's first lookup ran before the winner committed: it saw no key.
        lookups.append(args)
        return None if len(lookups) == 1 else original(*args)

    monkeypatch.setattr(plan_service, "_replayed", not_yet_committed)
    record, _, created = plan_service.create_plan(
        db, actor=CLIENT, protocols=protocols, patient_id=patient_id,
        request_for=_request_for(),
        options=SaveOptions(idempotency_key="race-key", request_fingerprint="same-body"),
    )  # fmt: skip
    assert (record.id, created) == (first, False)
    plans = db.scalar(select(func.count()).where(PlanRecord.patient_id == patient_id))
    assert plans == 1
