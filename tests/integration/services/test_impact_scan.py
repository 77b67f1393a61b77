"""The impact scan gives the same outcomes, in the same order, whether it runs in this
process or spreads batches of plan ids over worker processes that read their rows
themselves (services/impact_scan.py): the report a pharmacist reads must not depend on how
many cores the server has.

The workers are other processes with their own connections, so these tests commit for real
(not inside the rolled-back transaction of the `db` fixture) in a clinic of their own, and
archive its patients afterwards: an approval's scan covers every clinic's open plans."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from app.db.models import ClinicRecord, PatientRecord, PlanRecord
from app.db.repositories.protocol_impact import StoredPlan
from app.domain.titration import load_protocols
from app.services.context import utc_now
from app.services.impact_scan import (
    UNREADABLE,
    ChangedPlan,
    FailedPlan,
    ScanResult,
    compare,
    scan,
)
from tests.factories.clinics import make_clinic, make_patient_in, make_plan_for
from tests.unit.domain.builders import packaged_with

SINCE = date(2031, 3, 3)  # the factory plans' start


def _contents(interval_days: str) -> dict[str, bytes]:
    """Every packaged protocol's text, oral-adult's with another step interval."""
    read = packaged_with("oral-adult", interval_days=interval_days)
    ids: list[str] = []

    def record(protocol_id: str) -> bytes:  # which protocols a set is made of
        ids.append(protocol_id)
        return read(protocol_id)

    load_protocols(record)
    return {protocol_id: read(protocol_id) for protocol_id in ids}


@pytest.fixture
def committed(migrated_engine: Engine) -> Iterator[Session]:
    """A session that commits for real; its clinics' patients are archived afterwards."""
    with Session(migrated_engine, expire_on_commit=False) as session:
        first_new = (session.scalar(select(func.max(ClinicRecord.id))) or 0) + 1
        yield session
        session.rollback()
        session.execute(
            update(PatientRecord)
            .where(PatientRecord.clinic_id >= first_new, PatientRecord.archived_at.is_(None))
            .values(archived_at=utc_now())
        )
        session.commit()


def _clinic_with_plans(db: Session, count: int) -> tuple[int, list[int]]:
    """A clinic of its own with ``count`` open oral plans, the last one put on hold (an
    open plan too) and one more discontinued (not open)."""
    clinic_id = make_clinic(db)
    plans = [make_plan_for(db, clinic_id, make_patient_in(db, clinic_id).id) for _ in range(count)]
    db.execute(update(PlanRecord).where(PlanRecord.id == plans[-1].id).values(state="on_hold"))
    closed = make_plan_for(db, clinic_id, make_patient_in(db, clinic_id).id)
    db.execute(update(PlanRecord).where(PlanRecord.id == closed.id).values(state="discontinued"))
    db.commit()
    return clinic_id, [plan.id for plan in plans]


def test_worker_processes_report_what_one_process_reports_in_the_same_order(
    committed: Session,
) -> None:
    clinic_id, plan_ids = _clinic_with_plans(committed, 7)
    weekly = _contents("7")
    alone = scan(committed, clinic_id, weekly, SINCE, workers=1, batch=2)
    # Batches of two over two processes: four batches, several in flight at once.
    spread = scan(committed, clinic_id, weekly, SINCE, workers=2, batch=2)
    assert spread == alone
    assert alone.checked == 7
    assert all(isinstance(o, ChangedPlan) for o in alone.outcomes)
    # Weekly steps change every adult titration: the second step comes on day 8, not day 4.
    assert [o.plan_id for o in alone.outcomes] == plan_ids
    assert {o.difference.on for o in alone.outcomes if isinstance(o, ChangedPlan)} == {
        date(2031, 3, 6)
    }


def test_unchanged_protocols_change_no_plan_however_the_scan_runs(committed: Session) -> None:
    clinic_id, _ = _clinic_with_plans(committed, 5)
    for workers in (1, 2):
        result = scan(committed, clinic_id, _contents("3"), SINCE, workers=workers, batch=2)
        assert result == ScanResult(5, ()), workers


def test_a_stored_version_that_no_longer_decodes_is_reported_not_skipped() -> None:
    stored = StoredPlan(1, 2, 3, "{}", "{}")
    assert list(compare([stored], load_protocols(), SINCE)) == [FailedPlan(1, 2, 3, UNREADABLE)]


def test_a_clinic_without_open_plans_scans_nothing(committed: Session) -> None:
    clinic_id = make_clinic(committed)
    committed.commit()
    assert scan(committed, clinic_id, _contents("7"), SINCE, workers=2, batch=1) == ScanResult(
        0, ()
    )
