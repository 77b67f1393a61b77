"""Races of the titration loop: two clinicians acting on one suggestion make one version,
and two plans cannot both complete the plan they follow. As in test_lost_races.py, the
winner's commit is written behind the ORM's back between the loser's check and its write
(the interleaving PostgreSQL allows), and the loser must get a conflict, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.db.models import PlanRecord, PlanVersionRecord
from app.domain.titration import Dose, DoseUnit, load_protocols
from app.domain.titration.library import ProtocolSet
from app.domain.titration.model import Indication, Patient, PlanRequest, PlanType
from app.services import observations as observation_service
from app.services import plans as plan_service
from app.services.errors import Conflict
from app.services.observations import ObservationInput
from app.services.plans import SaveOptions
from tests.integration.services.test_lost_races import CLIENT, _patient

TODAY = date.today()


@pytest.fixture(scope="module")
def protocols() -> ProtocolSet:
    return load_protocols()


def _titration(start: date) -> Callable[[Patient], PlanRequest]:
    def build(patient: Patient) -> PlanRequest:
        return PlanRequest(
            plan_type=PlanType.ORAL_TITRATION, start_date=start,
            indication=Indication.MULTIPLE_SCLEROSIS, patient=patient,
            target_daily_dose=Dose(Decimal(60), DoseUnit.MG),
        )  # fmt: skip

    return build


def _plan(db: Session, protocols: ProtocolSet, mrn: str, days_ago: int) -> int:
    record, _, _ = plan_service.create_plan(
        db, actor=CLIENT, protocols=protocols, patient_id=_patient(db, mrn),
        request_for=_titration(TODAY - timedelta(days=days_ago)), options=SaveOptions(),
    )  # fmt: skip
    return record.id


def _observe(db: Session, plan_id: int, **fields: Any) -> int:
    view = observation_service.record_observation(
        db, actor=CLIENT, plan_id=plan_id, data=ObservationInput(observed_on=TODAY, **fields),
        today=TODAY,
    )  # fmt: skip
    return view.record.id


def test_the_second_clinician_acting_on_a_suggestion_is_refused(
    db: Session, protocols: ProtocolSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_id = _plan(db, protocols, "LOOP-RACE-1", days_ago=5)
    observation_id = _observe(db, plan_id, adverse_effects=("drowsiness",))
    original = observation_service.levels_on

    def checked_then_lost(*args: Any) -> Any:
        # The other clinician's decision commits after our check for one.
        db.execute(text(
            "INSERT INTO observation_decision (observation_id, action, plan_id, "
            f"version_number, decided_at, decided_by) VALUES ({observation_id}, 'step_back', "
            f"{plan_id}, 2, CURRENT_TIMESTAMP, 'other')"
        ))  # fmt: skip
        return original(*args)

    monkeypatch.setattr(observation_service, "levels_on", checked_then_lost)
    with pytest.raises(Conflict, match="already been acted on"):
        observation_service.act_on_observation(
            db, actor=CLIENT, protocols=protocols, plan_id=plan_id,
            observation_id=observation_id, expected_version=1, today=TODAY,
        )  # fmt: skip
    versions = db.scalar(select(func.count()).where(PlanVersionRecord.plan_id == plan_id))
    assert versions == 1  # the loser's version was rolled back with its decision


def test_two_tapers_cannot_both_complete_one_titration(
    db: Session, protocols: ProtocolSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_id = _plan(db, protocols, "LOOP-RACE-2", days_ago=50)
    observation_id = _observe(db, plan_id, benefit="none")
    original = plan_service._superseded_plan

    def checked_then_lost(*args: Any) -> PlanRecord | None:
        found = original(*args)
        db.execute(text(
            "UPDATE plan SET state = 'completed', lock_version = lock_version + 1 "
            f"WHERE id = {plan_id}"
        ))  # fmt: skip
        return found

    monkeypatch.setattr(plan_service, "_superseded_plan", checked_then_lost)
    with pytest.raises(Conflict):
        observation_service.act_on_observation(
            db, actor=CLIENT, protocols=protocols, plan_id=plan_id,
            observation_id=observation_id, expected_version=1, today=TODAY,
        )  # fmt: skip
    followers = select(func.count()).where(PlanRecord.supersedes_plan_id == plan_id)
    tapers = db.scalar(followers)
    assert tapers == 0
