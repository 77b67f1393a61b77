"""Two pharmacists approving one protocol draft at the same moment: one wins, the other gets
a conflict (never a 500, never two approvals). Real threads, each with its own connection,
on a database file of their own (the shared test database keeps the seeded versions)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.orm import Session

from app.cli import alembic_config
from app.db.engine import make_engine, make_sessionmaker
from app.db.models import AuditEventRecord, ProtocolVersionRecord
from app.db.repositories import protocols as protocol_repo
from app.services import protocols as protocol_service
from app.services.context import Actor
from app.services.errors import Conflict
from app.services.protocols import ParameterChange

AUTHOR = Actor(kind="user", id=101, name="pharm.author", role="pharmacist", clinic_id=1)
APPROVERS = [
    Actor(kind="user", id=100 + n, name=f"pharm.approver{n}", role="pharmacist", clinic_id=1)
    for n in (2, 3)
]


@pytest.fixture
def race_url(tmp_path: Path, database_url: str) -> Iterator[str]:
    """A database of the suite's kind (SQLite file or PostgreSQL) for this test alone."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'race.sqlite3'}"
        return
    url = make_url(database_url)
    name = f"{url.database}_race"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_of_two_approvers_racing_exactly_one_wins(race_url: str) -> None:
    url = race_url
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        protocol_service.draft_version(
            session, actor=AUTHOR, protocol_id="oral-adult",
            changes={"interval_days": ParameterChange("7", "Clinic guideline 2026")},
        )  # fmt: skip
    barrier = threading.Barrier(len(APPROVERS))
    outcomes: list[str] = []

    def approve(actor: Actor) -> None:
        with sessions() as session:
            barrier.wait()
            try:
                protocol_service.approve_version(
                    session, actor=actor, protocol_id="oral-adult", version=2,
                    effective_from=date.today(),
                )  # fmt: skip
                outcomes.append("approved")
            except Conflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=approve, args=(actor,)) for actor in APPROVERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["approved", "conflict"]
    with sessions() as session:
        record = protocol_repo.version(session, "oral-adult", 2)
        assert record is not None
        assert record.status == "approved"
        assert record.approved_by in {actor.name for actor in APPROVERS}
        approvals = session.scalars(
            select(AuditEventRecord).where(AuditEventRecord.action == "protocol.approve")
        ).all()
        assert len(approvals) == 1
        assert approvals[0].actor_name == record.approved_by
        assert protocol_service.load_effective(session).oral_adult.ref.version == "2"
    engine.dispose()


def test_the_conditional_update_changes_nothing_once_the_draft_is_approved(db: Session) -> None:
    """The interleaving PostgreSQL allows: both read the draft, the winner commits first; the
    loser's UPDATE matches no row and the service answers a conflict."""
    draft = protocol_service.draft_version(
        db, actor=AUTHOR, protocol_id="oral-taper",
        changes={"min_total_days": ParameterChange("21", "Clinic guideline 2026")},
    )  # fmt: skip
    values: dict[str, object] = {"approved_by": "x", "effective_from": date.today()}
    assert protocol_repo.approve_draft(db, draft.id, values) is True
    assert protocol_repo.approve_draft(db, draft.id, values) is False
    assert (
        db.scalars(
            select(ProtocolVersionRecord.status).where(ProtocolVersionRecord.id == draft.id)
        ).one()
        == "approved"
    )
