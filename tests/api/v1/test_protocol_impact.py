"""Impact of a protocol version before and after its approval (issue 17 item 4, API.md §5.6):
the report on a seeded clinic, its scope, and the worklist items an approval leaves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, PlanProtocolReviewRecord
from app.domain.titration import (
    Dose,
    DoseUnit,
    Indication,
    IntrathecalInput,
    Patient,
    PlanRequest,
    PlanType,
    Severity,
    build_plan,
)
from app.services import plans as plan_service
from app.services.plans import SaveOptions
from tests.api.v1.test_plans import plan_body
from tests.api.v1.test_protocols import _approve, _draft, _headers
from tests.factories.clinics import (
    default_clinic_id,
    make_clinic,
    make_patient_in,
    protocols,
    system_actor,
)

START = date.today() + timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Seeded:
    adult: list[int]
    child: int
    itb: int
    other_clinic: int


def _oral(start: date, target: int = 60) -> Any:
    def request_for(patient: Patient) -> PlanRequest:
        return PlanRequest(
            plan_type=PlanType.ORAL_TITRATION, start_date=start,
            indication=Indication.MULTIPLE_SCLEROSIS, patient=patient,
            target_daily_dose=Dose(Decimal(target), DoseUnit.MG),
        )  # fmt: skip

    return request_for


def _itb(start: date) -> Any:
    def request_for(patient: Patient) -> PlanRequest:
        return PlanRequest(
            plan_type=PlanType.ITB_TITRATION, start_date=start,
            indication=Indication.SPINAL_CORD_INJURY, patient=patient,
            intrathecal=IntrathecalInput(
                Dose(Decimal(75), DoseUnit.MCG), Decimal(6), screening_responses=(False, True)
            ),
        )  # fmt: skip

    return request_for


def _save(db: Session, clinic_id: int, patient_id: int, request_for: Any) -> int:
    """Save a plan as the system would, acknowledging whatever major finding it has."""
    from app.db.repositories import patients as patient_repo

    stored = patient_repo.get(db, patient_id, clinic_id=None)
    assert stored is not None
    plan = build_plan(request_for(patient_repo.to_engine_patient(stored)), protocols())
    majors = tuple(f.code for f in plan.findings if f.severity is Severity.MAJOR)
    record, _, _ = plan_service.create_plan(
        db, actor=system_actor(clinic_id), protocols=protocols(), patient_id=patient_id,
        request_for=request_for, options=SaveOptions(acknowledged=majors),
    )  # fmt: skip
    return record.id


def _seed(db: Session) -> Seeded:
    clinic = default_clinic_id(db)
    adults = [
        _save(db, clinic, make_patient_in(db, clinic).id, _oral(START)),
        _save(db, clinic, make_patient_in(db, clinic).id, _oral(START, target=30)),
    ]
    child = make_patient_in(
        db, clinic, birth_date=date.today() - timedelta(days=365 * 8),
        weight_kg=Decimal(25), height_cm=Decimal(128),
    )  # fmt: skip
    child_plan = _save(db, clinic, child.id, _oral(START, target=20))
    itb = _save(db, clinic, make_patient_in(db, clinic).id, _itb(START))
    other = make_clinic(db)
    elsewhere = _save(db, other, make_patient_in(db, other).id, _oral(START))
    db.commit()
    return Seeded(adults, child_plan, itb, elsewhere)


def _impact(client: TestClient, headers: dict[str, str], version: int, **query: str) -> Any:
    return client.get(
        f"/api/v1/protocols/oral-adult/versions/{version}/impact", params=query, headers=headers
    )


def test_a_draft_of_oral_adult_changes_the_adult_oral_plans_only(
    client: TestClient, db: Session
) -> None:
    seeded = _seed(db)
    writer = _headers(db, "pharm_a", "protocols:write")
    assert _draft(client, writer, "oral-adult", interval_days="7").status_code == 201

    answer = _impact(client, writer, 2)

    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["protocol_id"], report["version"], report["status"]) == (
        "oral-adult", 2, "draft",
    )  # fmt: skip
    assert report["since"] == date.today().isoformat()
    changed = {row["plan_id"]: row for row in report["changed"]}
    assert set(changed) == set(seeded.adult)
    assert report["counts"] == {"checked": 4, "changed": 2, "unchanged": 2, "failed": 0}
    assert report["failed"] == []
    # 15 mg/day for 3 days, then 30: with 7-day steps, day 4 stays at 15 mg/day.
    first = changed[seeded.adult[0]]
    assert first["version"] == 1
    assert first["status"] == "ready"
    assert first["first_difference"] == {
        "differs_on": (START + timedelta(days=3)).isoformat(), "change": "dose",
        "step": 1, "step_start_date": START.isoformat(),
        "old_dose": {"value": "30", "unit": "mg"}, "new_dose": {"value": "15", "unit": "mg"},
    }  # fmt: skip
    rows = db.scalars(
        select(AuditEventRecord).where(AuditEventRecord.action == "protocol.impact")
    ).all()
    assert [(r.entity_id, r.detail["changed"], r.detail["checked"]) for r in rows] == [
        ("oral-adult/2", 2, 4)
    ]


def test_the_comparison_starts_on_the_day_asked_for(client: TestClient, db: Session) -> None:
    seeded = _seed(db)
    writer = _headers(db, "pharm_a", "protocols:write")
    assert _draft(client, writer, "oral-adult", interval_days="7").status_code == 201
    # From day 30 on, both schedules have reached the same target (60 mg/day) for plan 1;
    # the 30 mg plan reaches its target on day 4 with 3-day steps and on day 8 with 7.
    late = (START + timedelta(days=60)).isoformat()
    answer = _impact(client, writer, 2, **{"from": late})
    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] == []
    assert answer.json()["counts"]["unchanged"] == 4
    assert seeded.adult  # the same seeded clinic as above


def test_unknown_protocol_or_version_is_a_problem_404(client: TestClient, db: Session) -> None:
    writer = _headers(db, "pharm_a", "protocols:write")
    for url in (
        "/api/v1/protocols/oral-adult/versions/99/impact",
        "/api/v1/protocols/no-such/versions/1/impact",
    ):
        answer = client.get(url, headers=writer)
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("application/problem+json")
    bad_date = _impact(client, writer, 1, **{"from": "2026-13-01"})
    assert bad_date.status_code == 422
    assert bad_date.headers["content-type"].startswith("application/problem+json")


def test_the_report_needs_the_protocols_write_scope(client: TestClient, db: Session) -> None:
    for scope in ("protocols:approve", "plans:read", "plans:write"):
        headers = _headers(db, f"tok_{scope.replace(':', '_')}", scope)
        assert _impact(client, headers, 1).status_code == 403


def test_an_approval_puts_the_plans_it_changes_on_the_worklist(
    client: TestClient, db: Session
) -> None:
    seeded = _seed(db)
    writer = _headers(db, "pharm_a", "protocols:write")
    approver = _headers(db, "pharm_b", "protocols:approve")
    reader = _headers(db, "reader", "plans:read")
    assert _draft(client, writer, "oral-adult", interval_days="7").status_code == 201
    assert _approve(client, approver, "oral-adult", 2, date.today()).status_code == 200

    items = client.get(
        "/api/v1/worklist", params={"kind": "protocol_updated"}, headers=reader
    ).json()

    assert sorted(item["plan_id"] for item in items) == sorted(seeded.adult)
    assert {item["kind"] for item in items} == {"protocol_updated"}
    assert all(item["due_date"] == date.today().isoformat() for item in items)
    assert "oral-adult version 2" in items[0]["text"]
    # The other clinic's plan is flagged too (protocols are shared), on its own worklist.
    flagged = db.scalars(select(PlanProtocolReviewRecord.plan_id)).all()
    assert sorted(flagged) == sorted([*seeded.adult, seeded.other_clinic])
    approval = db.scalars(
        select(AuditEventRecord).where(AuditEventRecord.action == "protocol.approve")
    ).one()
    assert approval.detail["plans_to_review"] == 3


def test_a_revision_uses_the_new_version_and_clears_the_item(
    client: TestClient, db: Session
) -> None:
    seeded = _seed(db)
    writer = _headers(db, "pharm_a", "protocols:write")
    approver = _headers(db, "pharm_b", "protocols:approve")
    planner = _headers(db, "planner", "plans:read", "plans:write")
    assert _draft(client, writer, "oral-adult", interval_days="7").status_code == 201
    assert _approve(client, approver, "oral-adult", 2, date.today()).status_code == 200
    plan_id = seeded.adult[0]
    body = plan_body(start_date=START.isoformat(), acknowledged=[], reason="Weekly steps.")
    revised = client.post(
        f"/api/v1/plans/{plan_id}/versions", json=body, headers={**planner, "If-Match": '"1"'}
    )
    assert revised.status_code == 201, revised.text
    used = {p["id"]: p["version"] for p in revised.json()["protocols"]}
    assert used["oral-adult"] == "2"
    items = client.get(
        "/api/v1/worklist", params={"kind": "protocol_updated"}, headers=planner
    ).json()
    assert [item["plan_id"] for item in items] == [seeded.adult[1]]


def test_a_plan_the_engine_refuses_under_the_draft_is_listed_with_the_reason(
    client: TestClient, db: Session
) -> None:
    seeded = _seed(db)
    writer = _headers(db, "pharm_a", "protocols:write")
    drafted = _draft(client, writer, "oral-adult", cap_outpatient_mg_day="50")
    assert drafted.status_code == 201, drafted.text

    report = _impact(client, writer, 2).json()

    # The 60 mg/day plan passes the new outpatient cap; the 30 mg/day one is unchanged.
    assert report["counts"] == {"checked": 4, "changed": 0, "unchanged": 3, "failed": 1}
    [failed] = report["failed"]
    assert (failed["plan_id"], failed["version"]) == (seeded.adult[0], 1)
    assert "Target 60 mg/day is above the hard limit of 50 mg/day" in failed["reason"]
