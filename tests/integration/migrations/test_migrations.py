"""The schema is only ever built by migrations, and migrations match the models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app.cli import alembic_config
from app.db.base import Base
from app.db.engine import make_engine

SCRATCH_SCHEMA = "migration_check"


@pytest.fixture
def scratch_url(tmp_path, database_url: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A private, empty database of the backend under test; the shared one stays at head."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCRATCH_SCHEMA}"))
    separator = "&" if "?" in database_url else "?"
    yield f"{database_url}{separator}options=-csearch_path%3D{SCRATCH_SCHEMA}"
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {SCRATCH_SCHEMA} CASCADE"))
    engine.dispose()


def test_upgrade_downgrade_upgrade_round_trips(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = make_engine(scratch_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}  # nothing but the stamp
    engine.dispose()
    command.upgrade(config, "head")
    engine = make_engine(scratch_url)
    assert {"patient", "audit_event", "app_user"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_models_and_migrations_agree(migrated_engine) -> None:  # type: ignore[no-untyped-def]
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_audit_table_refuses_updates_and_deletes(migrated_engine) -> None:  # type: ignore[no-untyped-def]
    with migrated_engine.connect() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_event (id, occurred_at, actor_kind, actor_name, action, "
                "entity_type, outcome, prev_hash, row_hash) VALUES ((SELECT coalesce(max(id), "
                "0) + 1 FROM audit_event), CURRENT_TIMESTAMP, 'system', 'test', 'test.event', "
                "'test', 'success', 'x', 'x')"
            )
        )
        for statement in ("UPDATE audit_event SET action = 'forged'", "DELETE FROM audit_event"):
            nested = connection.begin_nested()
            with pytest.raises(Exception, match="append-only"):
                connection.execute(text(statement))
            nested.rollback()
        connection.rollback()
