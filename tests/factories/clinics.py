"""Clinics for the access tests: a second care team with its own users, tokens, patients and
plans. Made-up records only. Everything is written in the test's transaction (rolled back).

The standard users (tests/factories/users.py) belong to the first clinic, which the
migration creates; `make_clinic` adds "the other clinic".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import ClinicRecord, PatientRecord, PlanRecord
from app.db.repositories import users as user_repo
from app.domain.patients import PatientFacts
from app.domain.titration import Dose, DoseUnit, ProtocolSet, load_protocols
from app.domain.titration.model import Indication, Patient, PlanRequest, PlanType
from app.services import auth
from app.services import observations as observation_service
from app.services import patients as patient_service
from app.services import plans as plan_service
from app.services.context import Actor, utc_now
from app.services.observations import ObservationInput
from app.services.plans import SaveOptions
from tests.factories.users import PASSWORD


@dataclass(frozen=True, slots=True)
class ClinicRecords:
    """One clinic's patient, plan and an observation of it: the ids the access probes aim at."""

    clinic_id: int
    patient_id: int
    plan_id: int
    observation_id: int = 0


def default_clinic_id(session: Session) -> int:
    return user_repo.default_clinic_id(session)


def make_clinic(session: Session, name: str | None = None) -> int:
    clinic = ClinicRecord(name=name or f"Test clinic {uuid.uuid4().hex[:8]}", created_at=utc_now())
    session.add(clinic)
    session.flush()
    return clinic.id


def make_user(session: Session, *, username: str, role: str, clinic_id: int) -> int:
    return auth.create_user(
        session, username=username, password=PASSWORD, role=role, clinic_id=clinic_id
    )


def make_clinic_token(session: Session, clinic_id: int, *scopes: str) -> str:
    return auth.create_token(
        session,
        name="clinic_client",
        scopes=scopes or auth.SCOPES,
        expires_at=None,
        clinic_id=clinic_id,
    )


def system_actor(clinic_id: int) -> Actor:
    """The system acting for one clinic (as seeding or the CLI would)."""
    return Actor(kind="system", id=None, name="access-tests", clinic_id=clinic_id)


def make_patient_in(session: Session, clinic_id: int, **overrides: Any) -> PatientRecord:
    values: dict[str, Any] = {
        "mrn": f"ACC-{uuid.uuid4().hex[:10]}",
        "given_name": "Testa",
        "family_name": f"Fictional{uuid.uuid4().hex[:6]}",
        "birth_date": date(1981, 5, 2),
        "sex": "female",
        "weight_kg": Decimal("70"),
        "height_cm": Decimal("168"),
        "serum_creatinine_value": None,
        "serum_creatinine_unit": None,
        "serum_creatinine_on": None,
        "creatinine_clearance_ml_min": Decimal("90"),
        "dialysis": False,
        "pregnant": False,
        "breastfeeding": False,
        "conditions": (),
        "medications": (),
        "spinal_injury_level": None,
        "brain_injury_on": None,
        "preferred_language": "en",
    }
    values.update(overrides)
    return patient_service.create_patient(
        session, actor=system_actor(clinic_id), facts=PatientFacts(**values), today=date.today()
    )


def oral_request(patient: Patient) -> PlanRequest:
    return PlanRequest(
        plan_type=PlanType.ORAL_TITRATION,
        start_date=date(2031, 3, 3),
        indication=Indication.MULTIPLE_SCLEROSIS,
        patient=patient,
        target_daily_dose=Dose(Decimal(30), DoseUnit.MG),
    )


@cache
def protocols() -> ProtocolSet:
    return load_protocols()


def make_plan_for(
    session: Session,
    clinic_id: int,
    patient_id: int,
    *,
    acknowledged: tuple[str, ...] = (),
) -> PlanRecord:
    record, _, _ = plan_service.create_plan(
        session,
        actor=system_actor(clinic_id),
        protocols=protocols(),
        patient_id=patient_id,
        request_for=oral_request,
        options=SaveOptions(acknowledged=acknowledged),
    )
    return record


def make_clinic_records(session: Session, clinic_id: int) -> ClinicRecords:
    patient = make_patient_in(session, clinic_id)
    plan = make_plan_for(session, clinic_id, patient.id)
    observation = observation_service.record_observation(
        session, actor=system_actor(clinic_id), plan_id=plan.id,
        data=ObservationInput(observed_on=date.today(), benefit="clear"), today=date.today(),
    )  # fmt: skip
    return ClinicRecords(clinic_id, patient.id, plan.id, observation.record.id)
