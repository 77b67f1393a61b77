"""The worklist page shows "Protocol updated — review" for a plan an approved protocol
version changes (issue 17), and a filter for that kind alone."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.services import protocols as protocol_service
from app.services.context import Actor
from app.services.protocols import ParameterChange
from tests.api.v1.test_protocol_impact import START, _oral, _save
from tests.factories.clinics import default_clinic_id, make_patient_in
from tests.web.helpers import log_in


def test_an_approval_puts_protocol_updated_on_the_worklist_page(
    client: TestClient, db: Session
) -> None:
    clinic = default_clinic_id(db)
    changed = _save(db, clinic, make_patient_in(db, clinic).id, _oral(START))
    author = Actor(kind="user", id=9101, name="pharm.author", role="pharmacist", clinic_id=clinic)
    approver = Actor(kind="user", id=9102, name="pharm.second", role="pharmacist", clinic_id=clinic)
    draft = protocol_service.draft_version(
        db, actor=author, protocol_id="oral-adult",
        changes={"interval_days": ParameterChange("7", "Clinic guideline 2026")},
    )  # fmt: skip
    protocol_service.approve_version(
        db, actor=approver, protocol_id="oral-adult", version=draft.version,
        effective_from=date.today(),
    )  # fmt: skip
    log_in(client, "paula.prescriber")

    page = client.get("/worklist?kind=protocol_updated")

    assert page.status_code == 200
    rows = page.text.split("<tbody>")[1]
    assert "Protocol updated — review" in rows
    assert f"oral-adult version {draft.version} changes the schedule" in rows
    assert f'/plans/{changed}">' in rows
    assert '<option value="protocol_updated" selected>' in page.text
