"""The formulary's migration (issue 17): formulary version 1 and version 2 of formulations
and findings, byte for byte from frozen copies, so their fingerprints never drift."""

from __future__ import annotations

import hashlib
from pathlib import Path

from alembic import command
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.cli import alembic_config
from app.db.engine import make_engine
from app.db.models import ProtocolVersionRecord
from app.domain.titration.protocol import read_protocol_bytes
from tests.integration.migrations.test_migrations import scratch_url  # noqa: F401 (fixture)

SEEDS = Path(__file__).resolve().parents[3] / "migrations" / "seeds"
# The formulary as seeded: today's stock (formulations version 1's tablets and solution).
FORMULARY_SHA256 = "975fe060ff9e6b1285788c16c676743498ed6e340dcb5183ef4431de5a8ba3a7"
# protocols_0001 seeded these version 1 bytes; they stay in the database, superseded.
VERSION_1_SHA256 = {
    "formulations": "8782713031c774e70066af70d5ae59b990ae763116a6720e9e6f0018df10bd83",
    "findings": "0c7565e48287879290b3f3c817fc7a10bb3ae7d72ddca87e4673d7e50fa1fd58",
}


def _rows(engine: Engine, protocol_id: str) -> list[tuple[int, str, str]]:
    with Session(engine) as session:
        query = (
            select(ProtocolVersionRecord)
            .where(ProtocolVersionRecord.protocol_id == protocol_id)
            .order_by(ProtocolVersionRecord.version)
        )
        return [(r.version, r.status, r.sha256) for r in session.scalars(query)]


def test_the_seed_is_the_packaged_files_byte_for_byte(migrated_engine: Engine) -> None:
    for protocol_id in ("formulary", "formulations", "findings"):
        frozen = (SEEDS / "formulary_0001" / f"{protocol_id}.json").read_bytes()
        assert frozen == read_protocol_bytes(protocol_id), protocol_id
    assert hashlib.sha256(read_protocol_bytes("formulary")).hexdigest() == FORMULARY_SHA256
    assert _rows(migrated_engine, "formulary") == [(1, "approved", FORMULARY_SHA256)]
    for protocol_id, old in VERSION_1_SHA256.items():
        new = hashlib.sha256(read_protocol_bytes(protocol_id)).hexdigest()
        assert _rows(migrated_engine, protocol_id) == [(1, "superseded", old), (2, "approved", new)]


def test_downgrade_restores_version_1_and_upgrade_brings_the_formulary_back(
    scratch_url: str,  # noqa: F811 (the fixture)
) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    command.downgrade(config, "protocols_0001_seeded")
    engine = make_engine(scratch_url)
    assert _rows(engine, "formulary") == []
    assert _rows(engine, "formulations") == [
        (1, "approved", VERSION_1_SHA256["formulations"])
    ]  # fmt: skip
    command.upgrade(config, "head")
    assert _rows(engine, "formulary") == [(1, "approved", FORMULARY_SHA256)]
    engine.dispose()
