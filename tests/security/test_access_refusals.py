"""Every refusal is audited (RELIABILITY A2): a role refused an operation, a token refused for
a scope it lacks. A refused call changes nothing else."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, PlanRecord
from tests.factories.clinics import default_clinic_id, make_clinic_records, make_clinic_token
from tests.web.helpers import header_csrf, log_in


@pytest.fixture
def audit_before(db: Session) -> int:
    """The newest audit id before the test acts: the browser tests' live server commits for
    real into the same database, so earlier tests may have left refusals of their own."""
    return db.scalar(select(func.max(AuditEventRecord.id))) or 0


def _denials(db: Session, after_id: int) -> list[AuditEventRecord]:
    query = select(AuditEventRecord).where(
        AuditEventRecord.action == "access.denied", AuditEventRecord.id > after_id
    )
    return list(db.scalars(query.order_by(AuditEventRecord.id)))


def test_a_role_refused_an_operation_is_audited_with_who_what_and_where(
    client: TestClient, db: Session, audit_before: int
) -> None:
    own = make_clinic_records(db, default_clinic_id(db))
    assert log_in(client, "vera.viewer").status_code == 303
    csrf = header_csrf(client.get("/patients").text)
    response = client.post(
        f"/plans/{own.plan_id}/hold",
        data={"version": "1", "reason": "Trying."},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 403
    [denial] = _denials(db, audit_before)
    assert (denial.actor_kind, denial.actor_name, denial.actor_role) == (
        "user", "vera.viewer", "viewer",
    )  # fmt: skip
    assert (denial.entity_type, denial.entity_id, denial.outcome) == (
        "operation", "plan.hold", "failure",
    )  # fmt: skip
    assert denial.detail == {"method": "POST", "path": f"/plans/{own.plan_id}/hold"}
    assert denial.request_id
    plan = db.get(PlanRecord, own.plan_id)
    assert plan is not None
    assert plan.state == "active"


def test_a_token_refused_for_a_missing_scope_is_audited(
    client: TestClient, db: Session, audit_before: int
) -> None:
    token = make_clinic_token(db, default_clinic_id(db), "plans:read")
    response = client.post(
        "/api/v1/itb/refill", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "This token lacks the scope plans:preview."
    [denial] = _denials(db, audit_before)
    assert (denial.actor_kind, denial.entity_type, denial.entity_id) == (
        "token", "scope", "plans:preview",
    )  # fmt: skip


def test_allowed_calls_and_unknown_records_are_not_denials(
    client: TestClient, db: Session, audit_before: int
) -> None:
    token = make_clinic_token(db, default_clinic_id(db), "plans:read")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/plans/987654321", headers=headers).status_code == 404
    assert _denials(db, audit_before) == []
