"""Clinic isolation beyond single records: searches, lists, MRNs, and actors without a clinic."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.domain.patients import PatientFacts
from app.services import patients as patient_service
from app.services import plans as plan_service
from app.services.context import SYSTEM, Actor
from app.services.errors import Forbidden, NotFound
from tests.factories.clinics import (
    default_clinic_id,
    make_clinic,
    make_clinic_records,
    make_clinic_token,
    make_patient_in,
    make_user,
)
from tests.factories.patients import patient_payload
from tests.web.helpers import log_in

SHARED_NAME = "Zwillingfictional"  # the same made-up family name in both clinics


@pytest.fixture
def two_clinics(db: Session) -> tuple[int, int]:
    own, other = default_clinic_id(db), make_clinic(db)
    make_patient_in(db, own, family_name=SHARED_NAME, mrn="TWIN-OWN")
    make_patient_in(db, other, family_name=SHARED_NAME, mrn="TWIN-OTHER")
    return own, other


def test_patient_search_pages_show_only_the_own_clinic(
    client: TestClient, two_clinics: tuple[int, int]
) -> None:
    assert log_in(client, "vera.viewer").status_code == 303
    page = client.get("/patients", params={"q": SHARED_NAME})
    assert page.status_code == 200
    assert "TWIN-OWN" in page.text
    assert "TWIN-OTHER" not in page.text


@pytest.mark.parametrize("side", [0, 1])
def test_api_search_shows_only_the_tokens_clinic(
    client: TestClient, db: Session, two_clinics: tuple[int, int], side: int
) -> None:
    headers = {"Authorization": f"Bearer {make_clinic_token(db, two_clinics[side])}"}
    response = client.get("/api/v1/patients", params={"q": SHARED_NAME}, headers=headers)
    assert response.status_code == 200
    assert [p["mrn"] for p in response.json()["items"]] == [("TWIN-OWN", "TWIN-OTHER")[side]]


def test_a_user_of_the_other_clinic_sees_its_records_and_not_ours(
    client: TestClient, db: Session
) -> None:
    own = make_clinic_records(db, default_clinic_id(db))
    other = make_clinic_records(db, make_clinic(db))
    make_user(db, username="olga.prescriber", role="prescriber", clinic_id=other.clinic_id)
    assert log_in(client, "olga.prescriber").status_code == 303
    assert client.get(f"/patients/{other.patient_id}").status_code == 200
    assert client.get(f"/plans/{other.plan_id}").status_code == 200
    assert client.get(f"/patients/{own.patient_id}").status_code == 404
    assert client.get(f"/plans/{own.plan_id}").status_code == 404
    assert client.get(f"/patients/{own.patient_id}/plans").status_code == 404


def test_an_mrn_is_unique_within_a_clinic_only(client: TestClient, db: Session) -> None:
    own, other = default_clinic_id(db), make_clinic(db)
    payload = patient_payload(mrn="SAME-MRN-1")
    for clinic_id in (own, other):
        headers = {"Authorization": f"Bearer {make_clinic_token(db, clinic_id)}"}
        assert client.post("/api/v1/patients", json=payload, headers=headers).status_code == 201
    headers = {"Authorization": f"Bearer {make_clinic_token(db, own)}"}
    again = client.post("/api/v1/patients", json=payload, headers=headers)
    assert again.status_code == 409


def test_an_mrn_change_may_take_another_clinics_mrn(client: TestClient, db: Session) -> None:
    other = make_clinic(db)
    make_patient_in(db, other, mrn="THEIRS-1")
    mine = make_patient_in(db, default_clinic_id(db), mrn="MINE-1")
    headers = {"Authorization": f"Bearer {make_clinic_token(db, default_clinic_id(db))}"}
    response = client.patch(
        f"/api/v1/patients/{mine.id}",
        json={"mrn": "THEIRS-1"},
        headers=headers | {"If-Match": '"1"'},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("kind", ["user", "token"])
def test_a_person_or_client_without_a_clinic_sees_nothing(db: Session, kind: str) -> None:
    records = make_clinic_records(db, default_clinic_id(db))
    actor = Actor(kind=kind, id=1, name="nowhere", role="prescriber", scopes=("patients:read",))
    with pytest.raises(Forbidden):
        patient_service.search_patients(db, actor=actor, text="", limit=10, after=None)
    with pytest.raises(Forbidden):
        patient_service.read_patient(db, actor=actor, patient_id=records.patient_id)


def test_the_system_alone_may_act_across_clinics(db: Session) -> None:
    own = make_clinic_records(db, default_clinic_id(db))
    other = make_clinic_records(db, make_clinic(db))
    for records in (own, other):
        plan, _ = plan_service.read_plan(db, actor=SYSTEM, plan_id=records.plan_id)
        assert plan.patient_id == records.patient_id
    scoped = replace(SYSTEM, clinic_id=own.clinic_id)
    with pytest.raises(NotFound):
        plan_service.read_plan(db, actor=scoped, plan_id=other.plan_id)


def test_a_system_created_patient_without_a_clinic_joins_the_default_clinic(
    db: Session,
) -> None:
    facts = PatientFacts(
        mrn="SYS-1", given_name="Testa", family_name="Fictional", birth_date=date(1980, 1, 1),
        sex="female", weight_kg=None, height_cm=None, serum_creatinine_value=None,
        serum_creatinine_unit=None, serum_creatinine_on=None, creatinine_clearance_ml_min=None,
        dialysis=False, pregnant=False, breastfeeding=False, conditions=(), medications=(),
        spinal_injury_level=None, brain_injury_on=None, preferred_language="en",
    )  # fmt: skip
    record = patient_service.create_patient(db, actor=SYSTEM, facts=facts, today=date.today())
    assert record.clinic_id == default_clinic_id(db)
