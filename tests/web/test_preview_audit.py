"""Audit granularity of the planner (ARCHITECTURE.md, "Audit granularity"): opening the
planner records the read of the patient; the live-preview fragments swapped into it while
the clinician types record none, yet check access exactly as a recorded read does. A whole
page re-rendered by the Preview button (no JavaScript) records its own read."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord
from tests.factories.sessions import log_in
from tests.web.helpers import HX, make_patient

KEYSTROKES = 12


def _form(csrf: str, dose: str) -> dict[str, Any]:
    return {
        "csrf_token": csrf, "plan_type": "oral_titration", "indication": "multiple_sclerosis",
        "setting": "outpatient", "start_date": "2031-03-03", "target_daily_dose": dose,
    }  # fmt: skip


def _rows(db: Session, patient_id: int) -> list[str]:
    query = select(AuditEventRecord.action).where(AuditEventRecord.patient_id == patient_id)
    return list(db.scalars(query.order_by(AuditEventRecord.id)))


@pytest.fixture
def csrf(client: TestClient) -> str:
    return log_in(client)


def test_a_planning_session_records_one_read_however_many_previews(
    client: TestClient, csrf: str, db: Session
) -> None:
    patient = make_patient(db)
    before = _rows(db, patient.id)
    assert client.get(f"/patients/{patient.id}/plans/new").status_code == 200
    for dose in range(20, 20 + KEYSTROKES):
        response = client.post(
            f"/patients/{patient.id}/plans/preview", data=_form(csrf, str(dose)), headers=HX
        )
        assert response.status_code == 200
        assert f"{dose} mg/day" in response.text  # each fragment is a real, fresh preview
    assert _rows(db, patient.id)[len(before) :] == ["patient.read"]


def test_the_whole_page_without_javascript_records_its_read(
    client: TestClient, csrf: str, db: Session
) -> None:
    patient = make_patient(db)
    before = len(_rows(db, patient.id))
    response = client.post(f"/patients/{patient.id}/plans/preview", data=_form(csrf, "30"))
    assert response.status_code == 200
    assert "<html" in response.text
    assert _rows(db, patient.id)[before:] == ["patient.read"]


def test_a_fragment_still_refuses_what_a_recorded_read_refuses(
    client: TestClient, db: Session
) -> None:
    patient = make_patient(db)
    total = db.scalar(select(func.count()).select_from(AuditEventRecord))
    csrf = log_in(client, "vera.viewer")  # may read patients, may not plan
    response = client.post(
        f"/patients/{patient.id}/plans/preview", data=_form(csrf, "30"), headers=HX
    )
    assert response.status_code == 403
    assert "mg/day" not in response.text
    # The refusal itself is audited, like every refusal.
    actions = db.scalars(
        select(AuditEventRecord.action).where(AuditEventRecord.id > (total or 0))
    ).all()
    assert "patient.read" not in actions


def test_a_fragment_for_a_patient_of_another_clinic_is_not_found(
    client: TestClient, csrf: str, db: Session
) -> None:
    response = client.post("/patients/999999/plans/preview", data=_form(csrf, "30"), headers=HX)
    assert response.status_code == 404
    assert "mg/day" not in response.text
