"""Benchmark of the protocol impact report (issue 17 item 4): 100,000 active plans.

Seeds a SQLite file (migrated, then bulk inserts: made-up patients, one active plan each,
version 1 built by the real engine from a realistic mix — adult, older adult, renal and
paediatric oral titrations, oral tapers, intrathecal titrations and screenings), drafts
oral-adult with 7-day steps, and prints the report's wall time and plans/s in one process and
on every core (services/impact_scan.py), next to the engine alone building the same plans
under the same draft in one process, in the same run.

Seeding: the engine builds `DISTINCT` different requests (ages, weights, kidneys, targets,
start dates) and the plans reuse them in turn, so seeding takes seconds; the report itself
caches nothing and recomputes every one of the 100,000 plans.

Run: .venv/bin/python bench/impact.py [--plans 100000] [--workers N] [--keep FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from alembic import command
from sqlalchemy import insert, select

from app.cli import alembic_config
from app.db.audit_chain import AuditKey, AuditKeys, derive_key, install_keys
from app.db.engine import make_engine, make_sessionmaker
from app.db.models import ClinicRecord, PatientRecord, PlanRecord, PlanVersionRecord
from app.db.repositories.protocol_impact import open_plans
from app.domain.titration import (
    CreatinineUnit,
    Dose,
    DoseUnit,
    Indication,
    IntrathecalInput,
    Patient,
    PlanRequest,
    PlanType,
    SerumCreatinine,
    Severity,
    Sex,
    TitrationError,
    build_plan,
    load_stored_protocols,
)
from app.services import protocol_impact, protocols
from app.services.context import Actor
from app.services.plan_codec import canonical_json, content_sha256, request_from_plain
from app.services.protocols import ParameterChange

DISTINCT = 5000
BATCH = 5000
AUTHOR = Actor(kind="user", id=9001, name="bench.author", role="pharmacist")


def _request(rng: random.Random, today: date) -> PlanRequest:
    """One made-up request of the mix (shares: adult 45 %, older 10 %, renal 10 %,
    paediatric 8 %, taper 15 %, intrathecal 12 %)."""
    start = today + timedelta(days=rng.randint(-40, 20))
    kind = rng.random()
    age = Decimal(rng.randint(18, 64))
    weight = Decimal(rng.randint(50, 110))
    creatinine = SerumCreatinine(Decimal(rng.choice(["0.7", "0.9", "1.1"])), CreatinineUnit.MG_DL)
    if 0.45 <= kind < 0.55:
        age = Decimal(rng.randint(65, 90))
    elif 0.55 <= kind < 0.65:
        creatinine = SerumCreatinine(
            Decimal(rng.choice(["1.8", "2.6", "3.4"])), CreatinineUnit.MG_DL
        )
    elif 0.65 <= kind < 0.73:
        age, weight = Decimal(rng.randint(3, 15)), Decimal(rng.randint(14, 55))
    patient = Patient(
        sex=rng.choice([Sex.FEMALE, Sex.MALE]),
        birth_date=start - timedelta(days=int(age * 365) + 30),
        weight_kg=weight, height_cm=Decimal(rng.randint(150, 190)) if age >= 18 else None,
        serum_creatinine=creatinine,
    )  # fmt: skip
    base = PlanRequest(
        PlanType.ORAL_TITRATION, start, rng.choice([Indication.MULTIPLE_SCLEROSIS,
        Indication.SPINAL_CORD_INJURY]), patient,
    )  # fmt: skip
    if kind < 0.65:
        return replace(base, target_daily_dose=Dose(Decimal(rng.choice([30, 45, 60])), DoseUnit.MG))
    if kind < 0.73:
        return replace(base, indication=Indication.CEREBRAL_PALSY)
    if kind < 0.88:
        dose = Dose(Decimal(rng.choice([30, 45, 60, 75])), DoseUnit.MG)
        return replace(base, plan_type=PlanType.ORAL_TAPER, current_daily_dose=dose)
    itb = IntrathecalInput(Dose(Decimal(rng.choice([50, 75, 100])), DoseUnit.MCG), Decimal(6),
                           screening_responses=(False, True))  # fmt: skip
    plan_type = PlanType.ITB_TITRATION if kind < 0.96 else PlanType.ITB_SCREENING
    return replace(base, plan_type=plan_type, intrathecal=itb)


def _templates(
    today: date, protocol_set: object
) -> list[tuple[str, str, str, str, str, list[str]]]:
    """(plan type, unit, status, input_json, plan_json, acknowledged) of DISTINCT plans."""
    rng = random.Random(17)
    made = []
    while len(made) < DISTINCT:
        request = _request(rng, today)
        try:
            plan = build_plan(request, protocol_set)  # type: ignore[arg-type]
        except TitrationError:  # e.g. a target above a child's or a kidney's limit
            continue
        if plan.status.value != "ready":
            continue
        majors = sorted(f.code for f in plan.findings if f.severity is Severity.MAJOR)
        made.append((plan.plan_type.value, plan.unit.value, plan.status.value,
                     canonical_json(request), canonical_json(plan), majors))  # fmt: skip
    return made


def seed(url: str, count: int) -> tuple[float, int]:
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    started = time.perf_counter()
    today = datetime.now(UTC).date()
    now = datetime.now(UTC)
    with sessions() as session:
        templates = _templates(today, protocols.load_effective(session))
        clinic_id = session.scalars(select(ClinicRecord.id).order_by(ClinicRecord.id)).first()
        assert clinic_id is not None
        for first in range(0, count, BATCH):
            numbers = range(first + 1, min(first + BATCH, count) + 1)
            session.execute(insert(PatientRecord), [
                {"id": n, "clinic_id": clinic_id, "mrn": f"BENCH-{n:06d}", "given_name": "Testa",
                 "family_name": f"Fictional{n}", "search_text": f"fictional{n} testa",
                 "birth_date": date(1980, 1, 1), "sex": "female", "preferred_language": "en",
                 "created_at": now, "updated_at": now}
                for n in numbers
            ])  # fmt: skip
            session.execute(insert(PlanRecord), [
                {"id": n, "patient_id": n, "plan_type": templates[n % DISTINCT][0],
                 "unit": templates[n % DISTINCT][1], "state": "active", "current_version": 1,
                 "created_at": now, "created_by": "bench", "created_by_kind": "user",
                 "updated_at": now}
                for n in numbers
            ])  # fmt: skip
            session.execute(insert(PlanVersionRecord), [
                {"id": n, "plan_id": n, "number": 1, "action": "create",
                 "status": templates[n % DISTINCT][2], "input_json": templates[n % DISTINCT][3],
                 "plan_json": templates[n % DISTINCT][4],
                 "acknowledged": templates[n % DISTINCT][5],
                 "content_sha256": content_sha256(input_json=templates[n % DISTINCT][3],
                                                  plan_json=templates[n % DISTINCT][4]),
                 "engine_version": "1.0.0", "created_at": now, "created_by": "bench",
                 "created_by_kind": "user", "created_by_id": 1}
                for n in numbers
            ])  # fmt: skip
            session.commit()
    # A bulk load leaves every page it wrote in the write-ahead log (≈ 850 MB here); a server
    # running for a while has checkpointed it. Without this, each worker's new connection
    # reads through that log and the report measures the load, not the scan.
    connection = engine.raw_connection()
    try:
        connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return time.perf_counter() - started, clinic_id


def main() -> None:
    install_keys(AuditKeys(AuditKey(derive_key("bench-impact-secret-not-for-production"))))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", type=Path, help="seed this SQLite file and keep it")
    args = parser.parse_args()
    path = args.keep or Path(tempfile.mkdtemp(prefix="titrate-impact-")) / "impact.db"
    url = f"sqlite:///{path}"
    seconds, clinic_id = seed(url, args.plans)
    print(f"seeded {args.plans} active plans ({DISTINCT} distinct) in {seconds:.1f} s: {path}")
    sessions = make_sessionmaker(make_engine(url))
    actor = replace(AUTHOR, clinic_id=clinic_id)
    with sessions() as session:
        draft = protocols.draft_version(
            session, actor=actor, protocol_id="oral-adult",
            changes={"interval_days": ParameterChange("7", "bench: weekly steps")},
        )  # fmt: skip
        report_seconds: dict[int, float] = {}
        digests: dict[int, str] = {}
        for workers in (1, args.workers):
            started = time.perf_counter()
            report = protocol_impact.impact_of_version(
                session, actor=actor, protocol_id="oral-adult", version=draft.version,
                workers=workers,
            )  # fmt: skip
            report_seconds[workers] = time.perf_counter() - started
            changed = repr(sorted(c.plan_id for c in report.changed)).encode()
            digests[workers] = hashlib.sha256(changed).hexdigest()[:16]
        # The engine alone: the same requests (decoded beforehand), the same draft.
        contents = protocol_impact.substituted_contents(session, draft, on=report.since)
        protocol_set = load_stored_protocols(contents)
        requests = [
            request_from_plain(json.loads(stored.input_json))
            for stored in open_plans(session, clinic_id)
        ]
        session.rollback()
    started = time.perf_counter()
    for request in requests:
        build_plan(request, protocol_set)
    engine_seconds = time.perf_counter() - started
    print(f"changed {len(report.changed)}, unchanged {report.unchanged}, "
          f"failed {len(report.failed)} of {report.checked}")  # fmt: skip
    for workers, took in report_seconds.items():
        print(f"impact report, {workers} process(es): {report.checked} plans in {took:.2f} s "
              f"({report.checked / took:,.0f} plans/s; report / engine alone "
              f"{took / engine_seconds:.2f}); changed plans digest {digests[workers]}")  # fmt: skip
    print(f"engine alone, 1 process: {len(requests)} plans in {engine_seconds:.2f} s "
          f"({len(requests) / engine_seconds:,.0f} plans/s)")  # fmt: skip


if __name__ == "__main__":
    main()
