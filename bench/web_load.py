"""Many clinicians at once on the real web path: the live preview at a typing pace, saves
beside it, and a flat-out phase (issue 12).

For N = 1, 8, 16, 32 clinicians, each logged in through the real form with its own session
(cookie jar, CSRF token), opens the planner for its own made-up patient (GET .../plans/new,
one recorded read) and then types: one live-preview fragment (POST .../plans/preview with
HX-Request, a new target dose each time) every 0.5 s, on a fixed schedule. Two more
clinicians save plans meanwhile (POST /patients/{id}/plans, one every second each). Then a
flat-out phase: 16 clinicians send previews back to back, for throughput.

Servers: SQLite with `titrate serve --workers 2`; with --database-url, PostgreSQL with two
`titrate serve` instances (one worker each) on one database, clinicians alternating between
them. Printed per N: previews/s, preview latency p50/p95/p99 (from the send), server errors
(5xx, any request), "database is locked" in the servers' logs, 503 busy answers, and audit
rows written for the typists' patients per planning session. Goals: 0 errors at 32; p95 at
16 ≤ 3 × p95 at 1. The client is asyncio + httpx in this process; at a typing pace it sends
at most ~70 requests/s. Machines here are shared: the load average is printed with the run.

    .venv/bin/python bench/web_load.py [--seconds 15] [--clinicians 1,8,16,32]
    .venv/bin/python bench/web_load.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
from loadkit import server
from loadkit.databases import Database, postgres_database, sqlite_database
from loadkit.timing import percentiles
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app.db.audit_chain import AuditKey, AuditKeys, derive_key, install_keys
from app.db.models import AuditEventRecord
from app.domain.patients import PatientFacts
from app.services import auth
from app.services import patients as patient_service
from app.services.context import SYSTEM

PASSWORD = "bench password long enough"
TYPING_INTERVAL = 0.5
SAVERS = 2
FLAT_OUT_CLINICIANS = 16


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    server_errors: int = 0
    busy: int = 0
    other_failures: int = 0
    other_statuses: Counter[int] = field(default_factory=Counter)
    saves: int = 0

    def count(self, response: httpx.Response, ok: tuple[int, ...]) -> bool:
        if response.status_code == 503:
            self.busy += 1
        if response.status_code >= 500:
            self.server_errors += 1
            return False
        if response.status_code not in ok:
            self.other_failures += 1
            self.other_statuses[response.status_code] += 1
            return False
        return True


@dataclass(slots=True)
class Clinician:
    username: str
    patient_id: int
    open_plan_id: str | None = None  # the saver's last plan, which its next save replaces


def _facts(n: int) -> PatientFacts:
    return PatientFacts(
        mrn=f"LOAD-{n:04d}", given_name="Load", family_name=f"Fictional{n:04d}",
        birth_date=date(1970 + n % 30, 1 + n % 12, 1 + n % 28), sex="female" if n % 2 else "male",
        weight_kg=Decimal(60 + n % 30), height_cm=Decimal(160 + n % 25),
        serum_creatinine_value=None, serum_creatinine_unit=None, serum_creatinine_on=None,
        creatinine_clearance_ml_min=Decimal(90), dialysis=False, pregnant=False,
        breastfeeding=False, conditions=(), medications=(), spinal_injury_level=None,
        brain_injury_on=None, preferred_language="en",
    )  # fmt: skip


def set_up(database: Database, env: dict[str, str], count: int) -> list[Clinician]:
    """Migrate, then one prescriber and one patient per clinician, through the services."""
    server.titrate(env, "migrate")
    engine = create_engine(database.url)
    clinicians = []
    with Session(engine, expire_on_commit=False) as session:
        for n in range(1, count + 1):
            username = f"load.prescriber.{n}"
            auth.create_user(session, username=username, password=PASSWORD, role="prescriber")
            patient = patient_service.create_patient(
                session, actor=SYSTEM, facts=_facts(n), today=date.today()
            )
            clinicians.append(Clinician(username, patient.id))
    engine.dispose()
    return clinicians


async def log_in(base: str, clinician: Clinician) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    page = (await client.get("/login")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    data = {"username": clinician.username, "password": PASSWORD, "csrf_token": token}
    response = await client.post("/login", data=data)
    assert response.status_code == 303, f"login of {clinician.username} failed"
    page = (await client.get("/patients")).text
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.headers.update({"X-CSRF-Token": csrf})
    return client


def _form(dose: int) -> dict[str, str]:
    return {
        "plan_type": "oral_titration", "indication": "multiple_sclerosis",
        "setting": "outpatient", "start_date": "2031-03-03", "target_daily_dose": str(dose),
    }  # fmt: skip


SAVE_FORM = _form(30) | {
    "plan_type": "itb_titration", "target_daily_dose": "", "itb_effective_bolus": "50",
    "itb_effect_duration_hours": "8",
}  # fmt: skip


async def type_into_planner(
    client: httpx.AsyncClient, clinician: Clinician, until: float, tally: Tally, *, pace: bool
) -> None:
    """Open the planner (one recorded read), then one preview per TYPING_INTERVAL (or back to
    back when not `pace`), each with the next target dose."""
    opened = await client.get(f"/patients/{clinician.patient_id}/plans/new")
    tally.count(opened, (200,))
    url = f"/patients/{clinician.patient_id}/plans/preview"
    next_at, dose = time.monotonic(), 20
    while (now := time.monotonic()) < until:
        if pace and now < next_at:
            await asyncio.sleep(next_at - now)
        sent = time.monotonic()
        response = await client.post(url, data=_form(dose), headers={"HX-Request": "true"})
        if tally.count(response, (200,)):
            tally.latencies.append(time.monotonic() - sent)
        next_at += TYPING_INTERVAL
        dose = 20 + (dose - 19) % 60


async def save_plans(
    client: httpx.AsyncClient, clinician: Clinician, until: float, tally: Tally
) -> None:
    # One open plan per patient and route (issue 15): each save after the first replaces the
    # plan the last one made, as a clinician starting over would.
    while time.monotonic() < until:
        started = time.monotonic()
        form = dict(SAVE_FORM)
        if clinician.open_plan_id is not None:
            form["supersedes_plan_id"] = clinician.open_plan_id
        response = await client.post(f"/patients/{clinician.patient_id}/plans", data=form)
        if tally.count(response, (303,)):
            tally.saves += 1
            clinician.open_plan_id = response.headers["location"].rstrip("/").rsplit("/", 1)[-1]
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


async def phase(
    bases: list[str], typists: list[Clinician], savers: list[Clinician], seconds: float,
    *, pace: bool,
) -> Tally:  # fmt: skip
    clients = [await log_in(bases[i % len(bases)], c) for i, c in enumerate(typists)]
    saver_clients = [await log_in(bases[i % len(bases)], c) for i, c in enumerate(savers)]
    tally = Tally()
    until = time.monotonic() + seconds
    try:
        await asyncio.gather(
            *(
                type_into_planner(cl, c, until, tally, pace=pace)
                for cl, c in zip(clients, typists, strict=True)
            ),
            *(save_plans(cl, c, until, tally) for cl, c in zip(saver_clients, savers, strict=True)),
        )
    finally:
        for client in clients + saver_clients:
            await client.aclose()
    return tally


def audit_rows(database: Database, after_id: int, patient_ids: list[int]) -> tuple[int, int]:
    """(rows for these patients after `after_id`, newest id)."""
    engine = create_engine(database.url)
    try:
        with engine.connect() as conn:
            newest = conn.scalar(select(func.max(AuditEventRecord.id))) or 0
            rows = conn.scalar(
                select(func.count()).select_from(AuditEventRecord).where(
                    AuditEventRecord.id > after_id, AuditEventRecord.patient_id.in_(patient_ids)
                )
            )  # fmt: skip
    finally:
        engine.dispose()
    return int(rows or 0), int(newest)


def locked_in_logs(logs: list[Path]) -> int:
    """Lock timeouts the servers logged: as 500s ("database is locked" in a traceback) or as
    the 503 answers app/errors.py gives them ("database busy")."""
    texts = [log.read_text(errors="replace") for log in logs if log.exists()]
    return sum(t.count("database is locked") + t.count("database busy") for t in texts)


BENCH_SECRET = "bench-web-load-secret-not-for-production-0123456789"


def run(database: Database, levels: list[int], seconds: float, label: str) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {
            **os.environ, "TITRATE_DATABASE_URL": database.url, "TITRATE_ENVIRONMENT": "dev",
            "TITRATE_LOG_LEVEL": "WARNING", "TITRATE_SECRET_KEY": BENCH_SECRET,
        }  # fmt: skip
        # The users and patients set_up writes are audited here, keyed as the servers key theirs.
        install_keys(AuditKeys(AuditKey(derive_key(BENCH_SECRET))))
        people = set_up(database, env, max(*levels, FLAT_OUT_CLINICIANS) + SAVERS)
        savers, typists_all = people[:SAVERS], people[SAVERS:]
        logs = [tmp / "server-1.log", tmp / "server-2.log"]
        ports = [server.free_port(), server.free_port()]
        if database.sqlite_path is not None:
            processes = [server.serve_titrate(env, ports[0], 2, logs[0])]
        else:
            processes = [
                server.serve_titrate(env, p, 1, log) for p, log in zip(ports, logs, strict=True)
            ]
        bases = [f"http://127.0.0.1:{p}" for p in ports[: len(processes)]]
        print(f"\n== {label}: {len(processes)} server process(es), "
              f"{'2 workers' if len(processes) == 1 else '1 worker each'}")  # fmt: skip
        print(f"{'N':>3} {'mode':<8} {'previews/s':>10} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'p99 ms':>8} {'5xx':>4} {'503':>4} {'locked':>6} {'saves':>5} "
              f"{'audit/session':>13} {'load':>5}")  # fmt: skip
        p95s: dict[int, float] = {}
        _, last_id = audit_rows(database, 0, [])
        locked_before = 0
        try:
            for n, pace in [*((n, True) for n in levels), (FLAT_OUT_CLINICIANS, False)]:
                typists = typists_all[:n]
                tally = asyncio.run(phase(bases, typists, savers, seconds, pace=pace))
                rows, last_id = audit_rows(database, last_id, [c.patient_id for c in typists])
                locked = locked_in_logs(logs) - locked_before
                locked_before += locked
                stats = percentiles(tally.latencies or [0.0])
                if pace:
                    p95s[n] = stats.p95
                print(
                    f"{n:>3} {'typing' if pace else 'flat-out':<8} "
                    f"{len(tally.latencies) / seconds:>10.1f} {stats.p50:>8.1f} {stats.p95:>8.1f} "
                    f"{stats.p99:>8.1f} {tally.server_errors:>4} {tally.busy:>4} {locked:>6} "
                    f"{tally.saves:>5} {rows / n:>13.2f} {os.getloadavg()[0]:>5.2f}"
                )
                if tally.other_failures:
                    codes = sorted(tally.other_statuses.items())
                    statuses = ", ".join(f"{code}: {count}" for code, count in codes)
                    print(f"    {tally.other_failures} unexpected answers, by status: {statuses}")
        finally:
            for process in processes:
                server.stop(process)
        if 1 in p95s and 16 in p95s:
            print(f"p95 at 16 / p95 at 1: {p95s[16] / p95s[1]:.2f}  (goal ≤ 3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clinicians", default="1,8,16,32")
    parser.add_argument("--database-url", help="PostgreSQL base URL (a database is made)")
    args = parser.parse_args()
    levels = [int(n) for n in args.clinicians.split(",")]
    if args.database_url:
        with postgres_database(args.database_url, 0) as database:
            run(database, levels, args.seconds, "PostgreSQL, two instances")
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(sqlite_database(Path(tmp) / "web_load.db"), levels, args.seconds, "SQLite")


if __name__ == "__main__":
    main()
