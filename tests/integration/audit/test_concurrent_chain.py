"""Concurrent writers keep one chain: every transaction queues on the chain head, so ids are
handed out in commit order and every link points at the row before it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import func, select

from app.cli import alembic_config
from app.db.engine import make_engine, make_sessionmaker
from app.db.models import AuditEventRecord
from app.services import audit
from app.services.audit import AuditEntry
from app.services.audit_chain import verify_chain
from app.services.context import Actor
from tests.integration.audit.conftest import drop_scratch, scratch_url

pytestmark = pytest.mark.records

WRITERS, TRANSACTIONS, EVENTS_PER_TRANSACTION = 8, 15, 3


@pytest.fixture
def empty_database(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, schema = scratch_url(database_url, tmp_path_factory.mktemp("concurrent"))
    try:
        command.upgrade(alembic_config(url), "head")
        yield url
    finally:
        drop_scratch(database_url, schema)


def test_parallel_writers_leave_one_unbroken_chain(empty_database: str) -> None:
    engine = make_engine(empty_database)
    sessions = make_sessionmaker(engine)
    start, errors = threading.Barrier(WRITERS), []

    def write(writer: int) -> None:
        actor = Actor(kind="system", id=None, name=f"writer-{writer}")
        start.wait()
        try:
            for n in range(TRANSACTIONS):
                with sessions() as session:
                    for k in range(EVENTS_PER_TRANSACTION):
                        entry = AuditEntry("probe.write", "probe", f"{writer}-{n}-{k}")
                        audit.record(session, actor, entry)
                    session.commit()
        except Exception as exc:  # collected: a thread's exception would vanish otherwise
            errors.append(repr(exc))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    with sessions() as session:
        report = verify_chain(session)
        count = session.scalar(select(func.count()).select_from(AuditEventRecord))
        ids = list(session.scalars(select(AuditEventRecord.id).order_by(AuditEventRecord.id)))
    engine.dispose()
    assert errors == []
    assert count == WRITERS * TRANSACTIONS * EVENTS_PER_TRANSACTION
    assert ids == list(range(1, count + 1))
    assert report.ok, report.summary()
    assert report.checked == count
