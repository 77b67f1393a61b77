"""Pharmacist reviews: rules, audit row in the same transaction, and an append-only table."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord, PlanRecord, PlanReviewRecord
from app.services import plans as plan_service
from app.services.context import Actor
from app.services.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleVersion
from tests.factories.clinics import (
    default_clinic_id,
    make_clinic,
    make_clinic_records,
    make_patient_in,
    make_plan_for,
    oral_request,
    protocols,
)


def _actor(db: Session, role: str, clinic_id: int | None = None) -> Actor:
    return Actor(
        kind="user", id=None, name=f"test.{role}", role=role,
        clinic_id=clinic_id or default_clinic_id(db),
    )  # fmt: skip


@pytest.fixture
def opioid_plan(db: Session) -> PlanRecord:
    """A plan whose version has one major finding (opioid) and some info findings."""
    clinic_id = default_clinic_id(db)
    patient = make_patient_in(db, clinic_id, medications=("oxycodone",))
    return make_plan_for(db, clinic_id, patient.id, acknowledged=("opioid",))


def _review(db: Session, actor: Actor, plan: PlanRecord, **overrides: object) -> PlanReviewRecord:
    arguments: dict[str, object] = {
        "actor": actor, "plan_id": plan.id, "expected_version": 1,
        "acknowledged": ("opioid",), "note": "Dose and interactions checked.",
    }  # fmt: skip
    arguments.update(overrides)
    return plan_service.review_plan(db, **arguments)  # type: ignore[arg-type]


def test_a_review_records_who_when_which_version_and_is_audited(
    db: Session, opioid_plan: PlanRecord
) -> None:
    pharmacist = _actor(db, "pharmacist")
    review = _review(db, pharmacist, opioid_plan)
    assert (review.version_number, review.reviewed_by, review.reviewed_by_role) == (
        1, "test.pharmacist", "pharmacist",
    )  # fmt: skip
    assert review.acknowledged == ["opioid"]
    assert review.reviewed_at.tzinfo is not None
    # This plan's review only: the browser tests' live server commits reviews of its own.
    event = db.scalars(
        select(AuditEventRecord).where(
            AuditEventRecord.action == "plan.review",
            AuditEventRecord.entity_id == str(opioid_plan.id),
        )
    ).one()
    assert (event.entity_id, event.patient_id, event.new_version) == (
        str(opioid_plan.id), opioid_plan.patient_id, 1,
    )  # fmt: skip
    assert event.detail == {
        "review_id": review.id,
        "acknowledged": ["opioid"],
        "outcome": "approved",
    }
    assert event.reason == "Dose and interactions checked."


def test_only_informational_findings_may_go_unacknowledged(
    db: Session, opioid_plan: PlanRecord
) -> None:
    version = plan_service.read_plan(db, actor=_actor(db, "pharmacist"), plan_id=opioid_plan.id)[1][
        -1
    ]
    assert plan_service.reviewable_findings(version) == ("opioid",)
    with pytest.raises(InvalidInput, match="opioid"):
        _review(db, _actor(db, "pharmacist"), opioid_plan, acknowledged=())
    with pytest.raises(InvalidInput, match="driving"):
        _review(db, _actor(db, "pharmacist"), opioid_plan, acknowledged=("opioid", "driving"))
    reviews = select(PlanReviewRecord).where(PlanReviewRecord.plan_id == opioid_plan.id)
    assert db.scalars(reviews).all() == []


def test_only_the_version_seen_can_be_reviewed(db: Session, opioid_plan: PlanRecord) -> None:
    with pytest.raises(StaleVersion):
        _review(db, _actor(db, "pharmacist"), opioid_plan, expected_version=2)


def test_a_discontinued_plan_takes_no_review(db: Session, opioid_plan: PlanRecord) -> None:
    plan_service.change_state(
        db, actor=_actor(db, "prescriber"), plan_id=opioid_plan.id, expected_version=1,
        new_state="discontinued", reason="Stopped.",
    )  # fmt: skip
    with pytest.raises(Conflict):
        _review(db, _actor(db, "pharmacist"), opioid_plan)


@pytest.mark.parametrize("role", ["admin", "prescriber", "viewer"])
def test_only_a_pharmacist_reviews(db: Session, opioid_plan: PlanRecord, role: str) -> None:
    with pytest.raises(Forbidden):
        _review(db, _actor(db, role), opioid_plan)


def test_another_clinics_pharmacist_cannot_find_the_plan(
    db: Session, opioid_plan: PlanRecord
) -> None:
    with pytest.raises(NotFound):
        _review(db, _actor(db, "pharmacist", make_clinic(db)), opioid_plan)


def test_a_revision_needs_a_review_of_its_own(db: Session, opioid_plan: PlanRecord) -> None:
    pharmacist = _actor(db, "pharmacist")
    _review(db, pharmacist, opioid_plan)
    plan_service.revise_plan(
        db, actor=_actor(db, "prescriber"), protocols=protocols(), plan_id=opioid_plan.id,
        expected_version=1, reason="Slower steps.",
        request_for=lambda p: dataclasses.replace(oral_request(p), step_interval_days=7),
        options=plan_service.SaveOptions(acknowledged=("opioid",)),
    )  # fmt: skip
    with pytest.raises(StaleVersion):
        _review(db, pharmacist, opioid_plan)
    second = _review(db, pharmacist, opioid_plan, expected_version=2)
    reviews = plan_service.list_reviews(db, actor=pharmacist, plan_id=opioid_plan.id)
    assert [r.version_number for r in reviews] == [1, 2]
    assert reviews[-1].id == second.id


def test_a_long_note_is_refused(db: Session, opioid_plan: PlanRecord) -> None:
    with pytest.raises(InvalidInput):
        _review(db, _actor(db, "pharmacist"), opioid_plan, note="x" * 2001)


@pytest.mark.parametrize(
    "statement",
    ["UPDATE plan_review SET note = 'changed'", "DELETE FROM plan_review"],
)
def test_the_database_refuses_to_change_a_review(db: Session, statement: str) -> None:
    records = make_clinic_records(db, default_clinic_id(db))
    plan = db.get(PlanRecord, records.plan_id)
    assert plan is not None
    _review(db, _actor(db, "pharmacist"), plan, acknowledged=())
    with pytest.raises(DBAPIError, match="immutable"), db.begin_nested():
        db.execute(text(statement))
