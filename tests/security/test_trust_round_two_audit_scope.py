"""Issue 13, "an admin of clinic A sees every clinic's … audit rows": an admin reviews only
their own clinic's trail, on /audit and in the CSV; a system admin sees every clinic's. Rows
name their clinic from now on; rows written before the column existed (clinic_id NULL: the
trail is append-only and chained, so they are never rewritten) are attributed through their
actor, patient or target."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEventRecord
from app.db.repositories.audit import AuditActor, AuditEntry, add_audit_event
from app.services import admin, audit_review, patients
from app.services.audit_chain import verify_chain
from app.services.audit_review import AuditFilters
from app.services.context import SYSTEM, Actor, utc_now
from tests.factories.clinics import make_clinic, make_patient_in, make_user
from tests.web.admin_helpers import log_in_admin
from tests.web.helpers import log_in


@pytest.fixture
def clinics(db: Session) -> dict[str, int]:
    a, b = make_clinic(db, "Clinic A (audit scope)"), make_clinic(db, "Clinic B (audit scope)")
    ids = {
        "a": a,
        "b": b,
        "admin_a": make_user(db, username="audit.admin.a", role="admin", clinic_id=a),
        "admin_b": make_user(db, username="audit.admin.b", role="admin", clinic_id=b),
        "prescriber_a": make_user(db, username="audit.presc.a", role="prescriber", clinic_id=a),
        "prescriber_b": make_user(db, username="audit.presc.b", role="prescriber", clinic_id=b),
        "patient_a": make_patient_in(db, a).id,
        "patient_b": make_patient_in(db, b).id,
    }
    for side in ("a", "b"):
        reader = Actor(
            kind="user",
            id=ids[f"prescriber_{side}"],
            name=f"audit.presc.{side}",
            role="prescriber",
            clinic_id=ids[side],
        )
        patients.read_patient(db, actor=reader, patient_id=ids[f"patient_{side}"])
    db.commit()
    return ids


def _admin(ids: dict[str, int], side: str, *, system_admin: bool = False) -> Actor:
    return Actor(
        kind="user",
        id=ids[f"admin_{side}"],
        name=f"audit.admin.{side}",
        role="admin",
        clinic_id=ids[side],
        system_admin=system_admin,
    )


def _seen(db: Session, actor: Actor) -> list[AuditEventRecord]:
    filters = AuditFilters(date_from=date.today())
    rows, _ = audit_review.audit_report(db, actor=actor, filters=filters)
    return rows


def _patient_reads(rows: list[AuditEventRecord]) -> set[int | None]:
    return {row.patient_id for row in rows if row.action == "patient.read"}


def test_admins_across_clinics_review_only_their_own_clinics_audit_rows(
    db: Session, clinics: dict[str, int]
) -> None:
    seen_by_a = _seen(db, _admin(clinics, "a"))
    assert _patient_reads(seen_by_a) == {clinics["patient_a"]}
    created = {row.entity_id for row in seen_by_a if row.action == "user.create"}
    assert str(clinics["prescriber_a"]) in created
    assert str(clinics["prescriber_b"]) not in created
    assert all(row.clinic_id in (clinics["a"], None) for row in seen_by_a)

    seen_by_b = _seen(db, _admin(clinics, "b"))
    assert _patient_reads(seen_by_b) == {clinics["patient_b"]}


def test_a_system_admin_reviews_every_clinics_rows(db: Session, clinics: dict[str, int]) -> None:
    seen = _seen(db, _admin(clinics, "a", system_admin=True))
    assert {clinics["patient_a"], clinics["patient_b"]} <= _patient_reads(seen)


def test_new_rows_name_the_clinic_of_what_they_concern(
    db: Session, clinics: dict[str, int]
) -> None:
    # A system admin of clinic A disables a user of clinic B: clinic B's admin sees it.
    admin.set_user_active(
        db,
        actor=_admin(clinics, "a", system_admin=True),
        user_id=clinics["prescriber_b"],
        active=False,
    )
    (row,) = db.scalars(
        select(AuditEventRecord).where(
            AuditEventRecord.action == "user.disable",
            AuditEventRecord.entity_id == str(clinics["prescriber_b"]),
        )
    )
    assert row.clinic_id == clinics["b"]
    assert row in _seen(db, _admin(clinics, "b"))
    assert row not in _seen(db, _admin(clinics, "a"))
    # The system's own reads name the patient's clinic.
    patients.read_patient(db, actor=SYSTEM, patient_id=clinics["patient_b"])
    db.commit()
    newest = db.scalars(select(AuditEventRecord).order_by(AuditEventRecord.id.desc())).first()
    assert newest is not None
    assert newest.clinic_id == clinics["b"]
    assert verify_chain(db).ok


def test_rows_from_before_the_clinic_column_are_attributed_without_being_rewritten(
    db: Session, clinics: dict[str, int]
) -> None:
    """Rows as the trail held them before this change: no clinic_id."""
    user_b = AuditActor("user", clinics["prescriber_b"], "audit.presc.b", "prescriber", None, None)
    system = AuditActor("system", None, "titrate", None, None, None)
    legacy = [
        (user_b, AuditEntry("logout", "user", str(clinics["prescriber_b"]))),
        (system, AuditEntry("patient.read", "patient", "x", patient_id=clinics["patient_b"])),
        (system, AuditEntry("user.rename", "user", str(clinics["prescriber_b"]))),
        (system, AuditEntry("audit.keyed", "audit_chain", "1")),
    ]
    ids = [
        add_audit_event(db, actor=actor, entry=entry, at=utc_now()).id for actor, entry in legacy
    ]
    db.commit()
    assert all(db.get(AuditEventRecord, i).clinic_id is None for i in ids)  # type: ignore[union-attr]

    seen_by_b = {row.id for row in _seen(db, _admin(clinics, "b"))}
    seen_by_a = {row.id for row in _seen(db, _admin(clinics, "a"))}
    assert set(ids[:3]) <= seen_by_b
    assert not set(ids) & seen_by_a
    assert ids[3] not in seen_by_b  # a row of no clinic: system admins only
    assert ids[3] in {row.id for row in _seen(db, _admin(clinics, "a", system_admin=True))}
    assert verify_chain(db).ok


def test_the_audit_page_and_csv_of_clinic_a_hold_no_row_of_clinic_b(
    client: TestClient, clinics: dict[str, int]
) -> None:
    assert log_in(client, "audit.admin.a").status_code == 303
    page = client.get("/audit", params={"patient": clinics["patient_b"]})
    assert page.status_code == 200
    assert "No audit events match these filters." in page.text
    assert 'id="audit-event-' not in page.text
    report = client.get("/audit/report.csv")
    assert report.status_code == 200
    rows = list(csv.DictReader(io.StringIO(report.text)))
    patient_ids = {row["patient_id"] for row in rows if row["action"] == "patient.read"}
    assert patient_ids == {str(clinics["patient_a"])}

    other = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    log_in_admin(other)  # ada.admin, the system admin
    every = list(csv.DictReader(io.StringIO(other.get("/audit/report.csv").text)))
    every_ids = {row["patient_id"] for row in every if row["action"] == "patient.read"}
    assert {str(clinics["patient_a"]), str(clinics["patient_b"])} <= every_ids
