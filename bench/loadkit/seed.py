"""Seed a migrated database with made-up patients, plans and versions (SQLAlchemy Core, bulk).

The rows are those the services write, a batch per statement instead of a request per row:

- `patient` rows from `patient_repo.search_text_for` and the PatientFacts fields, with the
  `patient_search_term` rows `patient_search.replace_terms` stores beside each (the same
  `terms_for`, the patient's search_text as sort key);
- one plan per patient with two immutable versions, saved (`create`) and then revised with a
  reason (`revise`, pointing at version 1), as `services.plans` stores them;
- the audit rows those calls add (patient.create, plan.create, plan.revise, and one
  plan.acknowledge per acknowledged finding), by the prescriber of the patient's clinic,
  linked into the hash chain from its head (loadkit/audit_rows.py): `titrate audit verify`
  passes on a seeded database.

History runs in two phases, so audit ids (the order of commits) and times agree: every
patient registered with a first plan between 400 and 200 days ago, then every plan revised
over the last 190 days. (The set-up's own rows, clinics, users and the token, come first in
id order but are dated now: the one place where a later id has an earlier time.)

Patient n (1, 2, ...) belongs to clinic n mod len(authors) and owns plan n with versions
2n - 1 and 2n; so the database must hold no patient or plan yet.

Plan contents are a handful of real engine plans for one made-up adult (loadkit/contents.py),
reused across patients: planning from each patient's own facts would take 200,000 engine runs
and measure nothing the benchmark reads. A plan's stored input therefore does not match its
patient's record.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, text

from app.db.models import (
    AuditEventRecord,
    PatientRecord,
    PatientSearchTermRecord,
    PlanRecord,
    PlanVersionRecord,
    UserRecord,
)
from app.db.repositories import patient_search
from app.db.repositories import patients as patient_repo
from app.domain.patients import PatientFacts
from loadkit.audit_rows import AuditChain, Author
from loadkit.contents import StoredContent, plan_contents
from loadkit.names import MadeUpPatient, made_up_patients

BATCH = 2000
LANGUAGES = ("en", "en", "de", "vi")
REVISION_REASON = "Tolerating the dose; next target"
Pair = tuple[StoredContent, StoredContent]


@dataclass(frozen=True, slots=True)
class History:
    """When patient n was registered, its plan saved (half a step later) and revised."""

    now: datetime
    patients: int

    def registered(self, n: int) -> datetime:
        return self.now - timedelta(days=400) + self._step(200) * (n - 1)

    def first_saved(self, n: int) -> datetime:
        return self.registered(n) + self._step(200) / 2

    def revised(self, n: int) -> datetime:
        return self.now - timedelta(days=190) + self._step(190) * (n - 1)

    def _step(self, days: int) -> timedelta:
        return timedelta(days=days) / self.patients


@dataclass(frozen=True, slots=True)
class Seeding:
    made_up: list[MadeUpPatient]
    authors: tuple[Author, ...]
    contents: list[Pair]
    history: History
    chain: AuditChain

    def author(self, n: int) -> Author:
        return self.authors[n % len(self.authors)]

    def pair(self, n: int) -> Pair:
        return self.contents[n % len(self.contents)]


def seed(database_url: str, *, patients: int, authors: Sequence[str]) -> int:
    """Insert `patients` patients spread over the clinics of `authors` (one prescriber's
    username per clinic, in clinic order). Returns the number of plan versions written."""
    engine = _seeding_engine(database_url)
    try:
        with engine.connect() as conn:
            _require_empty(conn)
            seeding = Seeding(
                made_up_patients(patients), _authors(conn, authors), plan_contents(),
                History(datetime.now(UTC), patients), AuditChain.from_head(conn),
            )  # fmt: skip
            for batch in _batches(patients):
                _register(conn, seeding, batch)
                conn.commit()
            for batch in _batches(patients):
                _revise(conn, seeding, batch)
                conn.commit()
            seeding.chain.store_head(conn)
            if engine.dialect.name == "postgresql":
                _catch_up_sequences(conn)
            conn.commit()
    finally:
        engine.dispose()
    return 2 * patients


def _seeding_engine(database_url: str) -> Engine:
    engine = create_engine(database_url)
    if engine.dialect.name == "sqlite":
        # Seeding is not what is measured: skip the fsyncs the server itself keeps, but check
        # every reference as the server's connections do.
        def configure(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.execute("PRAGMA synchronous=OFF")
            dbapi_connection.execute("PRAGMA foreign_keys=ON")

        event.listen(engine, "connect", configure)
    return engine


def _require_empty(conn: Connection) -> None:
    for table in (PatientRecord.__table__, PlanRecord.__table__):
        if conn.scalar(select(func.count()).select_from(table)):
            raise SystemExit(f"seed: {table.name} is not empty; seed a fresh database")


def _authors(conn: Connection, usernames: Sequence[str]) -> tuple[Author, ...]:
    users = UserRecord.__table__
    query = select(users.c.id, users.c.username, users.c.clinic_id)
    found = {
        row.username: row for row in conn.execute(query.where(users.c.username.in_(usernames)))
    }
    authors = tuple(Author(found[u].id, u, found[u].clinic_id) for u in usernames)
    if len({a.clinic_id for a in authors}) != len(authors):
        raise SystemExit("seed: give one prescriber per clinic")
    return authors


def _batches(patients: int) -> Iterator[range]:
    for start in range(1, patients + 1, BATCH):
        yield range(start, min(start + BATCH, patients + 1))


def _register(conn: Connection, seeding: Seeding, batch: range) -> None:
    """Patients with their search terms, their plans, the first versions, and the audit rows
    of both saves (patient.create, then plan.create)."""
    patient_rows = [_patient_row(n, seeding) for n in batch]
    conn.execute(insert(PatientRecord.__table__), patient_rows)
    terms = [term for row in patient_rows for term in _term_rows(row)]
    conn.execute(insert(PatientSearchTermRecord.__table__), terms)
    conn.execute(insert(PlanRecord.__table__), [_plan_row(n, seeding) for n in batch])
    versions = [_version_row(n, 1, seeding) for n in batch]
    conn.execute(insert(PlanVersionRecord.__table__), versions)
    audit = []
    for n, patient in zip(batch, patient_rows, strict=True):
        audit.append(
            seeding.chain.event(
                patient["created_at"], seeding.author(n), "patient.create", ("patient", n),
                patient_id=n, new_version=1,
            )
        )  # fmt: skip
        audit += _plan_save_events(n, seeding, versions[n - batch.start])
    conn.execute(insert(AuditEventRecord.__table__), audit)


def _revise(conn: Connection, seeding: Seeding, batch: range) -> None:
    versions = [_version_row(n, 2, seeding) for n in batch]
    conn.execute(insert(PlanVersionRecord.__table__), versions)
    audit = [
        e for n, v in zip(batch, versions, strict=True) for e in _plan_save_events(n, seeding, v)
    ]
    conn.execute(insert(AuditEventRecord.__table__), audit)


def _plan_save_events(n: int, seeding: Seeding, version: dict[str, Any]) -> list[dict[str, Any]]:
    """What `services.plans._audit_save` records for a saved version (no overrides here)."""
    number = version["number"]
    common = {"patient_id": n, "old_version": None if number == 1 else number - 1}
    at, author = version["created_at"], seeding.author(n)
    detail = {"content_sha256": version["content_sha256"], "status": version["status"]}
    events = [
        seeding.chain.event(
            at, author, "plan.create" if number == 1 else "plan.revise", ("plan", n),
            new_version=number, reason=version["reason"], detail=detail, **common,
        )
    ]  # fmt: skip
    for code in version["acknowledged"]:
        events.append(
            seeding.chain.event(
                at, author, "plan.acknowledge", ("plan", n),
                new_version=number, detail={"code": code}, **common,
            )
        )  # fmt: skip
    return events


def _catch_up_sequences(conn: Connection) -> None:
    for table in ("patient", "plan", "plan_version"):
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        )
    conn.execute(text("ANALYZE"))  # what autovacuum would have done after such growth


def _facts(p: MadeUpPatient, language: str) -> PatientFacts:
    return PatientFacts(
        mrn=p.mrn, given_name=p.given_name, family_name=p.family_name, birth_date=p.birth_date,
        sex=p.sex, weight_kg=p.weight_kg, height_cm=p.height_cm, serum_creatinine_value=None,
        serum_creatinine_unit=None, serum_creatinine_on=None, creatinine_clearance_ml_min=None,
        dialysis=False, pregnant=False, breastfeeding=False, conditions=(),
        medications=p.medications, spinal_injury_level=None, brain_injury_on=None,
        preferred_language=language,
    )  # fmt: skip


def _patient_row(n: int, seeding: Seeding) -> dict[str, Any]:
    facts = _facts(seeding.made_up[n - 1], LANGUAGES[n % len(LANGUAGES)])
    at = seeding.history.registered(n)
    row: dict[str, Any] = {
        "id": n,
        "clinic_id": seeding.author(n).clinic_id,
        "search_text": patient_repo.search_text_for(facts),
        "archived_at": None,
        "archive_reason": None,
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }
    row.update({name: getattr(facts, name) for name in PatientFacts.__slots__})
    row["conditions"], row["medications"] = list(facts.conditions), list(facts.medications)
    return row


def _term_rows(patient: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """What `patient_search.replace_terms` stores beside a new patient."""
    terms = patient_search.terms_for(patient["family_name"], patient["given_name"], patient["mrn"])
    for term in sorted(terms):
        yield {
            "clinic_id": patient["clinic_id"],
            "term": term,
            "sort_key": patient["search_text"],
            "patient_id": patient["id"],
        }


def _plan_row(n: int, seeding: Seeding) -> dict[str, Any]:
    """Plan n as it stands after its revision (version 2 current, locked twice)."""
    content = seeding.pair(n)[1]
    return {
        "id": n, "patient_id": n, "plan_type": content.plan_type, "unit": content.unit,
        "state": "active", "state_reason": None, "current_version": 2,
        "created_at": _saved_at(n, 1, seeding), "created_by": seeding.author(n).username,
        "updated_at": _saved_at(n, 2, seeding), "lock_version": 2,
    }  # fmt: skip


def _version_row(n: int, number: int, seeding: Seeding) -> dict[str, Any]:
    content = seeding.pair(n)[number - 1]
    return {
        "id": 2 * n - 2 + number,
        "plan_id": n,
        "number": number,
        "previous_version_id": None if number == 1 else 2 * n - 1,
        "action": "create" if number == 1 else "revise",
        "reason": None if number == 1 else REVISION_REASON,
        "status": content.status,
        "input_json": content.input_json,
        "plan_json": content.plan_json,
        "acknowledged": list(content.acknowledged),
        "content_sha256": content.content_sha256,
        "engine_version": content.engine_version,
        "created_at": _saved_at(n, number, seeding),
        "created_by": seeding.author(n).username,
        "created_by_role": "prescriber",
    }


def _saved_at(n: int, number: int, seeding: Seeding) -> datetime:
    return seeding.history.first_saved(n) if number == 1 else seeding.history.revised(n)
