"""What must hold in the database after a crash or a race, read directly (sqlite3 / psycopg).

The checks open the database the way an operator would after a crash (plain driver
connections, no app code), so they see exactly what was committed; only the audit hash chain
is walked with the code of `titrate audit verify`. Each check returns a list of problems
(empty when the invariant holds), so a failure names every broken row at once.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from app.db.audit_chain import AuditKey, AuditKeys, derive_key
from app.db.engine import make_engine, make_sessionmaker
from app.services.audit_chain import verify_chain
from app.services.plan_codec import content_sha256
from tests.resilience.servers import SECRET_KEY, Database

# The servers under test key the audit chain with the key derived from their secret
# (server_env sets no TITRATE_AUDIT_KEY), not with the key the test process installed.
SERVER_AUDIT_KEYS = AuditKeys(AuditKey(derive_key(SECRET_KEY)))


class Rows(Protocol):
    def __call__(self, sql: str) -> list[tuple[Any, ...]]: ...


@contextmanager
def open_direct(database: Database) -> Iterator[Rows]:
    """A plain driver connection; `rows(sql)` runs one parameterless query."""
    if database.kind == "sqlite":
        connection = sqlite3.connect(database.sqlite_path, timeout=30)
        try:
            yield lambda sql: connection.execute(sql).fetchall()
        finally:
            connection.close()
        return
    import psycopg

    with psycopg.connect(database.libpq_url, autocommit=True) as pg:
        yield lambda sql: pg.execute(sql).fetchall()  # type: ignore[arg-type]


def storage_problems(database: Database, rows: Rows) -> list[str]:
    """SQLite: integrity_check and foreign_key_check. PostgreSQL: no orphans, durable settings."""
    if database.kind == "sqlite":
        problems = []
        integrity = rows("PRAGMA integrity_check")
        if integrity != [("ok",)]:
            problems.append(f"integrity_check: {integrity[:5]}")
        orphans = rows("PRAGMA foreign_key_check")
        if orphans:
            problems.append(f"foreign_key_check: {orphans[:5]}")
        return problems
    problems = [
        f"{name} is {value}"
        for name in ("fsync", "synchronous_commit")
        for (value,) in rows(f"SHOW {name}")
        if value != "on"
    ]
    for child, column, parent, parent_column in rows(_PG_FOREIGN_KEYS):
        (count,) = rows(
            f'SELECT count(*) FROM "{child}" c WHERE c."{column}" IS NOT NULL AND NOT EXISTS '
            f'(SELECT 1 FROM "{parent}" p WHERE p."{parent_column}" = c."{column}")'
        )[0]
        if count:
            problems.append(f"{count} rows of {child}.{column} point at no {parent}")
    return problems


_PG_FOREIGN_KEYS = """
SELECT kcu.table_name, kcu.column_name, ccu.table_name, ccu.column_name
FROM information_schema.table_constraints tc
JOIN information_schema.key_column_usage kcu
  ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
JOIN information_schema.constraint_column_usage ccu
  ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()
"""


def plan_problems(rows: Rows) -> list[str]:
    """Every plan whole: versions 1..current, chained, hashes right, audit rows one to one."""
    plans = dict(rows("SELECT id, current_version FROM plan"))
    versions = rows(
        "SELECT plan_id, number, id, previous_version_id, status, input_json, plan_json, "
        "content_sha256, acknowledged FROM plan_version ORDER BY plan_id, number"
    )
    problems: list[str] = []
    by_plan: dict[int, list[tuple[Any, ...]]] = {}
    for version in versions:
        by_plan.setdefault(version[0], []).append(version)
    for plan_id, current in plans.items():
        numbers = [v[1] for v in by_plan.get(plan_id, [])]
        if numbers != list(range(1, current + 1)):
            problems.append(f"plan {plan_id} at version {current} has versions {numbers}")
    for plan_id in by_plan.keys() - plans.keys():
        problems.append(f"plan_version rows of a missing plan {plan_id}")
    ids = {(v[0], v[1]): v[2] for v in versions}
    for plan_id, number, _, previous, status, input_json, plan_json, digest, _ in versions:
        expected_previous = ids.get((plan_id, number - 1))
        if previous != expected_previous:
            problems.append(f"plan {plan_id} v{number} points at {previous}")
        if digest != content_sha256(input_json=input_json, plan_json=plan_json):
            problems.append(f"plan {plan_id} v{number}: content hash does not match its text")
        if status == "ready" and not json.loads(plan_json)["steps"]:
            problems.append(f"plan {plan_id} v{number} is ready but has no steps")
    problems += _audit_one_to_one(rows, versions)
    return problems


def _audit_one_to_one(rows: Rows, versions: list[tuple[Any, ...]]) -> list[str]:
    saves = Counter(
        (int(entity_id), new_version)
        for entity_id, new_version in rows(
            "SELECT entity_id, new_version FROM audit_event "
            "WHERE action IN ('plan.create', 'plan.revise')"
        )
    )
    acknowledgements = Counter(
        (int(entity_id), new_version, _json(detail)["code"])
        for entity_id, new_version, detail in rows(
            "SELECT entity_id, new_version, detail FROM audit_event "
            "WHERE action = 'plan.acknowledge'"
        )
    )
    expected_saves = Counter((v[0], v[1]) for v in versions)
    expected_acks = Counter(
        (v[0], v[1], code) for v in versions for code in _json(v[8]) if isinstance(code, str)
    )
    return [
        f"audit plan.create/revise for plan {key[0]} v{key[1]}: {saves[key]}, expected "
        f"{expected_saves[key]}"
        for key in _differences(saves, expected_saves)
    ] + [
        f"audit plan.acknowledge {key}: {acknowledgements[key]}, expected {expected_acks[key]}"
        for key in _differences(acknowledgements, expected_acks)
    ]


def patient_problems(rows: Rows) -> list[str]:
    """Every committed patient version has exactly one audit row (create, update, archive)."""
    audited = Counter(
        (int(entity_id), new_version)
        for entity_id, new_version in rows(
            "SELECT entity_id, new_version FROM audit_event WHERE action IN "
            "('patient.create', 'patient.update', 'patient.archive')"
        )
    )
    expected = Counter(
        (patient_id, number)
        for patient_id, version in rows("SELECT id, version FROM patient")
        for number in range(1, version + 1)
    )
    return [
        f"audit rows for patient {key[0]} v{key[1]}: {audited[key]}, expected {expected[key]}"
        for key in _differences(audited, expected)
    ]


def acknowledged_problems(rows: Rows, acked: Iterable[dict[str, Any]]) -> list[str]:
    """Every write the server acknowledged (2xx) is in the database, with the same content."""
    keys = {key: (plan_id, digest) for key, plan_id, digest in rows(
        "SELECT key, plan_id, request_sha256 FROM idempotency_key"
    )}  # fmt: skip
    versions = {
        (plan_id, number): digest
        for plan_id, number, digest in rows(
            "SELECT plan_id, number, content_sha256 FROM plan_version"
        )
    }
    patients = dict(rows("SELECT id, version FROM patient"))
    problems = []
    for entry in acked:
        kind = entry["kind"]
        if kind == "plan" and keys.get(entry["key"]) != (entry["plan_id"], entry["request_sha256"]):
            problems.append(f"acknowledged plan lost or changed: {entry}")
        if kind in ("plan", "revision") and (
            versions.get((entry["plan_id"], entry["version"])) != entry["content_sha256"]
        ):
            problems.append(f"acknowledged plan version lost or changed: {entry}")
        if kind == "patient" and patients.get(entry["patient_id"], 0) < entry["version"]:
            problems.append(f"acknowledged patient write lost: {entry}")
    return problems


def audit_chain_problems(database: Database) -> list[str]:
    """The hash chain walked by the code of `titrate audit verify`, without its start-up."""
    engine = make_engine(database.url)
    try:
        with make_sessionmaker(engine)() as session:
            report = verify_chain(session, keys=SERVER_AUDIT_KEYS)
    finally:
        engine.dispose()
    return [] if report.ok else [report.summary()]


def all_problems(database: Database, acked: Iterable[dict[str, Any]] = ()) -> list[str]:
    with open_direct(database) as rows:
        problems = (
            storage_problems(database, rows)
            + plan_problems(rows)
            + patient_problems(rows)
            + acknowledged_problems(rows, acked)
        )
    return problems + audit_chain_problems(database)


def count(database: Database, sql: str) -> int:
    with open_direct(database) as rows:
        return int(rows(sql)[0][0])


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _differences(seen: Counter[Any], expected: Counter[Any]) -> list[Any]:
    return sorted(
        (key for key in seen.keys() | expected.keys() if seen[key] != expected[key]), key=repr
    )
