"""Tamper evidence (RELIABILITY.md A3): 1,000 random tamperings, every one detected and the
first bad entry named.

On a copy of a populated database with the append-only trigger out of the way, each trial
alters one field of one random row, deletes one random row, or swaps two rows' contents,
inside a transaction that is rolled back afterwards. The expected verdict is worked out
from the mutation alone (which row, which column), independently of the verifier.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, select, text, update
from sqlalchemy.orm import Session

from app.db.engine import make_engine
from app.db.models import AuditEventRecord
from app.services.audit_chain import BROKEN_LINK, GAP, HASH_MISMATCH, verify_chain

TRIALS = 1000
SEED = 20261122
AUDIT = AuditEventRecord.__table__
CONTENT = [c.name for c in AUDIT.columns if c.name != "id"]
PAYLOAD = [name for name in CONTENT if name not in ("prev_hash", "row_hash")]

pytestmark = pytest.mark.records


@dataclass(frozen=True)
class Tampering:
    kind: str
    expected_id: int
    expected_reason: str


@pytest.fixture(scope="module")
def tamperable(
    populated: tuple[str, dict[str, int]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Connection]:
    """A connection to a copy of the populated database without the append-only guard."""
    url, _ = populated
    if url.startswith("sqlite"):
        url = _sqlite_copy(url, tmp_path_factory.mktemp("copy"))
    engine = make_engine(url)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER audit_event_no_update"))
            connection.execute(text("DROP TRIGGER audit_event_no_delete"))
        else:  # the scratch schema is this test's own copy
            connection.execute(text("DROP TRIGGER audit_event_append_only ON audit_event"))
        connection.commit()
        yield connection
    engine.dispose()


def test_the_untouched_copy_verifies(tamperable: Connection) -> None:
    report = verify_chain(Session(bind=tamperable))
    tamperable.rollback()
    assert report.ok, report.summary()
    assert report.checked >= 50  # a real trail: creates, overrides, reads, a failed login


def test_a_thousand_random_tamperings_are_all_detected_at_the_right_entry(
    tamperable: Connection,
) -> None:
    rng = random.Random(SEED)
    rows = _rows(tamperable)
    tamperable.rollback()
    detected, named, kinds, wrong = 0, 0, Counter[str](), []
    for trial in range(TRIALS):
        tampering = _tamper(tamperable, rng, rows, trial)
        report = verify_chain(Session(bind=tamperable))
        tamperable.rollback()
        kinds[tampering.kind] += 1
        found = report.first_break
        if found is None:
            wrong.append((trial, tampering, "not detected"))
            continue
        detected += 1
        if (found.event_id, found.reason) == (tampering.expected_id, tampering.expected_reason):
            named += 1
        else:
            wrong.append((trial, tampering, report.summary()))
    # The figure for the closing note (pytest -s shows it).
    print(f"\naudit chain mutations: {detected}/{TRIALS} detected, {named} named; {kinds}")  # noqa: T201
    assert wrong == []
    assert detected == named == TRIALS
    assert min(kinds[k] for k in ("alter", "delete", "swap")) > 250


def _sqlite_copy(url: str, directory: Path) -> str:
    import sqlite3
    from contextlib import closing

    source, target = url.split("///", 1)[1], directory / "tamper-copy.db"
    with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(target)) as copy:
        live.backup(copy)
    return f"sqlite:///{target}"


def _rows(connection: Connection) -> list[dict[str, Any]]:
    result = connection.execute(select(AUDIT).order_by(AUDIT.c.id)).mappings()
    return [dict(row) for row in result]


def _tamper(
    connection: Connection, rng: random.Random, rows: list[dict[str, Any]], trial: int
) -> Tampering:
    kind = rng.choice(("alter", "delete", "swap"))
    if kind == "delete":
        victim = rng.choice(rows)["id"]
        connection.execute(delete(AUDIT).where(AUDIT.c.id == victim))
        return Tampering(kind, victim, GAP)
    if kind == "swap":
        return _swap(connection, rng, rows)
    return _alter(connection, rng, rng.choice(rows), trial)


def _swap(connection: Connection, rng: random.Random, rows: list[dict[str, Any]]) -> Tampering:
    first, second = sorted(rng.sample(rows, 2), key=lambda row: row["id"])
    # Half the swaps move the hashes along with the content, half leave them in place.
    columns = CONTENT if rng.random() < 0.5 else PAYLOAD
    for target, source in ((first, second), (second, first)):
        values = {name: source[name] for name in columns}
        connection.execute(update(AUDIT).where(AUDIT.c.id == target["id"]).values(values))
    reason = BROKEN_LINK if "prev_hash" in columns else HASH_MISMATCH
    return Tampering("swap", first["id"], reason)


def _alter(
    connection: Connection, rng: random.Random, row: dict[str, Any], trial: int
) -> Tampering:
    column = rng.choice(["id", *CONTENT])
    if column == "id":
        new_id = row["id"] + 100_000 + trial  # moves the row out of its place in the chain
        connection.execute(update(AUDIT).where(AUDIT.c.id == row["id"]).values(id=new_id))
        return Tampering("alter", row["id"], GAP)
    new_value = _changed(rng, column, row[column])
    connection.execute(update(AUDIT).where(AUDIT.c.id == row["id"]).values({column: new_value}))
    reason = BROKEN_LINK if column == "prev_hash" else HASH_MISMATCH
    return Tampering("alter", row["id"], reason)


def _changed(rng: random.Random, column: str, value: Any) -> Any:
    """A different value of the same type (or NULL for a nullable column that had one)."""
    nullable = AUDIT.c[column].nullable
    if value is None:
        return {"tampered": True} if column == "detail" else _typed_new(column)
    if nullable and rng.random() < 0.2:
        return None
    if column == "occurred_at":
        return value + timedelta(microseconds=rng.choice([-1, 1, 1_000_000, -86_400_000_000]))
    if column == "detail":
        return {**value, "tampered": rng.randint(0, 9)} if isinstance(value, dict) else {"x": 1}
    if isinstance(value, int):
        return value + rng.choice([-1, 1, 7])
    return _other_string(rng, value)


def _typed_new(column: str) -> Any:
    python_type = AUDIT.c[column].type.python_type
    return 1 if python_type is int else "tampered"


def _other_string(rng: random.Random, value: str) -> str:
    if not value:
        return "x"
    position = rng.randrange(len(value))
    alphabet = "0123456789abcdef" if len(value) == 64 else "abcdefghijklmnopqrstuvwxyz.-"
    replacement = rng.choice([c for c in alphabet if c != value[position]])
    return value[:position] + replacement + value[position + 1 :]
