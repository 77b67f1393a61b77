"""The search-term migration backfills exactly the rows the patient service writes today (its
frozen copy of the rules must not drift from app/db/repositories/patient_search.py), and
searches find patients that existed before it. Made-up patients only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, MetaData, Table, insert, text

from app.cli import alembic_config
from app.db.engine import make_engine
from app.db.repositories import patient_search

BEFORE = "a286b22fdecb"  # the revision before patient_search_term
SEARCH_TERMS = "5a1a1e9cba6e"
SCRATCH_SCHEMA = "search_migration_check"
NAMES = (
    ("Anna", "Nguyễn", "RX-1"),
    ("Jean-Luc", "Smith-Jones", "RX-2"),
    ("Liam", "O'Brien", "MRN/3.a"),
    ("Thi Mai", "Trần Đặng", "4"),
    ("Erik", "Großmann", "RX-5"),
    ("Ｆｕｌｌ", "Ｗｉｄｔｈ", "RX-6"),  # fullwidth letters fold to ASCII (NFKD)
)


@pytest.fixture
def scratch_url(tmp_path, database_url: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An empty database of the backend under test; the shared one stays at head."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'search-migration.db'}"
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


def test_the_backfill_writes_what_the_service_would(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, BEFORE)
    engine = make_engine(scratch_url)
    try:
        _add_patients(engine)
        command.upgrade(config, SEARCH_TERMS)
        with engine.connect() as connection:
            patients = connection.execute(
                text("SELECT id, clinic_id, given_name, family_name, mrn, search_text FROM patient")
            ).all()
            stored = set(
                connection.execute(
                    text("SELECT clinic_id, term, sort_key, patient_id FROM patient_search_term")
                ).all()
            )
        expected = {
            (p.clinic_id, term, p.search_text, p.id)
            for p in patients
            for term in patient_search.terms_for(p.family_name, p.given_name, p.mrn)
        }
        assert len(patients) == len(NAMES) * 900
        assert stored == expected
        assert {t for _, t, _, _ in stored} >= {"nguyen", "jones", "brien", "dang", "width"}
    finally:
        engine.dispose()


def test_downgrading_removes_the_table_and_restores_the_old_index(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, SEARCH_TERMS)
    command.downgrade(config, BEFORE)
    engine = make_engine(scratch_url)
    try:
        with engine.connect() as connection:
            tables = MetaData()
            tables.reflect(connection)
        assert "patient_search_term" not in tables.tables
        indexes = {index.name for index in tables.tables["patient"].indexes}
        assert "ix_patient_search_text" in indexes
        assert "ix_patient_clinic_search_text" not in indexes
    finally:
        engine.dispose()


def _add_patients(engine: Engine) -> None:
    """More patients than one backfill batch (2,000), as rows of the older schema."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        patient = Table("patient", MetaData(), autoload_with=connection)
        clinic_id = connection.scalar(text("SELECT min(id) FROM clinic"))
        rows = []
        for n in range(900):
            for given, family, mrn in NAMES:
                rows.append(
                    {
                        "clinic_id": clinic_id,
                        "mrn": f"{mrn}-{n}",
                        "given_name": given,
                        "family_name": family,
                        "search_text": f"{family} {given} {mrn}-{n}".lower(),
                        "birth_date": date(1970, 1, 1),
                        "sex": "female",
                        "dialysis": False,
                        "conditions": [],
                        "medications": [],
                        "pregnant": False,
                        "breastfeeding": False,
                        "preferred_language": "en",
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }
                )
        connection.execute(insert(patient), rows)
