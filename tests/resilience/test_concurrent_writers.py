"""Concurrent writers against `titrate serve --workers 2` (RELIABILITY.md D2, D7; recipe R8).

One server with two worker processes on one database (a SQLite file, or PostgreSQL when
TEST_DATABASE_URL is PostgreSQL). Sixteen writers create patients and plans, revise and edit
them, and fight over a few shared plans; then races where eight clients change one record
from the same version at the same instant, and one Idempotency-Key sent twenty times.

Must hold: no answer ≥ 500 and no "database is locked" from the server; exactly one winner
per race, the others 412 (or 409); no lost update (a shared plan's version count equals the
successful revisions); afterwards every acknowledged write present, audit rows one to one
with plan and patient versions, storage checks clean.

CI writes for `CONCURRENCY_SECONDS` (default 15) at a fixed offered rate; 600 is the full D2
run, and `CONCURRENCY_ROUND_INTERVAL_S=0` makes every writer send as fast as it can.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx
import pytest

from tests.resilience import invariants
from tests.resilience.servers import Stack, running_stack, verify_audit_chain
from tests.resilience.workload import (
    Api,
    encode,
    plan_body,
    plan_entry,
    revision_body,
    revision_entry,
)

pytestmark = pytest.mark.resilience

log = logging.getLogger("tests.resilience")

WRITERS = 16
RACERS = 8
RACE_ROUNDS = int(os.environ.get("CONCURRENCY_RACE_ROUNDS", "20"))
WRITE_SECONDS = float(os.environ.get("CONCURRENCY_SECONDS", "15"))
SHARED_PLANS = 4
# A round is up to six requests: with 4 s, sixteen writers offer about 24 requests a second.
ROUND_INTERVAL_S = float(os.environ.get("CONCURRENCY_ROUND_INTERVAL_S", "4"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("concurrency"), workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def acked() -> list[dict[str, Any]]:
    """Writes acknowledged with a 2xx by the tests of this module (each test checks them all)."""
    return []


@pytest.fixture
def api(stack: Stack) -> Iterator[Api]:
    client = Api(stack.server.base_url, stack.token)
    yield client
    client.close()


def new_plan(api: Api, acked: list[dict[str, Any]]) -> tuple[int, int]:
    """A fresh patient with one plan; returns (patient id, plan id)."""
    patient = api.create_patient()
    assert patient.status_code == 201, patient.text
    patient_id = patient.json()["id"]
    acked.append({"kind": "patient", "patient_id": patient_id, "version": 1})
    key, body = f"setup-{uuid.uuid4()}", encode(plan_body())
    plan = api.create_plan(patient_id, body, key)
    assert plan.status_code == 201, plan.text
    acked.append(plan_entry(key, body, plan))
    return patient_id, plan.json()["id"]


def all_at_once(calls: list[Callable[[], httpx.Response]]) -> list[int]:
    """Every call starts at the same instant (a barrier releases them together)."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> int:
        barrier.wait(timeout=30)
        return call().status_code

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.fixture
def racers(stack: Stack) -> Iterator[list[Api]]:
    # One connection each, so the kernel spreads them over both workers.
    clients = [Api(stack.server.base_url, stack.token) for _ in range(RACERS)]
    yield clients
    for client in clients:
        client.close()


def test_sixteen_writers_on_two_workers_get_no_server_error_and_lose_no_update(
    stack: Stack, api: Api, acked: list[dict[str, Any]]
) -> None:
    shared = [new_plan(api, acked)[1] for _ in range(SHARED_PLANS)]
    deadline = time.monotonic() + WRITE_SECONDS
    results = [_Writer(stack, shared) for _ in range(WRITERS)]
    threads = [threading.Thread(target=w.run, args=(deadline,)) for w in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WRITE_SECONDS + 120)
        assert not thread.is_alive(), "a writer hung"
    statuses = sum((w.statuses for w in results), Counter[int]())
    for writer in results:
        acked.extend(writer.acked)
    seconds = sorted(t for w in results for t in w.seconds)
    log.info(
        "concurrent writers on %s, %d s: statuses %s; seconds p50 %.3f p95 %.3f p99 %.3f max %.3f",
        stack.database.kind, WRITE_SECONDS, dict(sorted(statuses.items())),
        *(seconds[int(q * (len(seconds) - 1))] for q in (0.5, 0.95, 0.99)), seconds[-1],
    )  # fmt: skip
    # Own records never conflict; shared plans may answer 412 to a stale If-Match.
    assert set(statuses) <= {200, 201, 412}, statuses
    assert statuses[201] >= WRITERS, "the writers barely wrote"
    wins = sum((w.shared_wins for w in results), Counter[int]())
    for plan_id in shared:
        versions = invariants.count(
            stack.database, f"SELECT current_version FROM plan WHERE id = {plan_id}"
        )
        assert versions == 1 + wins[plan_id], f"plan {plan_id}: lost update"
    _assert_consistent(stack, acked)


class _Writer:
    """Creates, revises and edits its own records; revises shared plans from what it read."""

    def __init__(self, stack: Stack, shared: list[int]) -> None:
        self.api = Api(stack.server.base_url, stack.token)
        self.shared = shared
        self.statuses: Counter[int] = Counter()
        self.shared_wins: Counter[int] = Counter()
        self.acked: list[dict[str, Any]] = []
        self.seconds: list[float] = []

    def run(self, deadline: float) -> None:
        # Constant pacing (a fixed offered rate, as RELIABILITY R9 asks), each writer starting
        # at its own phase; with an interval of 0 every writer sends as fast as it can.
        next_round = time.monotonic() + random.uniform(0, ROUND_INTERVAL_S)
        try:
            while time.monotonic() < deadline:
                time.sleep(max(0.0, next_round - time.monotonic()))
                next_round += ROUND_INTERVAL_S
                self._round()
        finally:
            self.api.close()

    def _call(self, response: httpx.Response) -> httpx.Response:
        self.statuses[response.status_code] += 1
        self.seconds.append(response.elapsed.total_seconds())
        return response

    def _round(self) -> None:
        patient = self._call(self.api.create_patient())
        if patient.status_code != 201:
            return
        patient_id = patient.json()["id"]
        self.acked.append({"kind": "patient", "patient_id": patient_id, "version": 1})
        key, body = f"mixed-{uuid.uuid4()}", encode(plan_body())
        plan = self._call(self.api.create_plan(patient_id, body, key))
        if plan.status_code == 201:
            self.acked.append(plan_entry(key, body, plan))
            revised = self._call(
                self.api.revise_plan(plan.json()["id"], encode(revision_body()), '"1"')
            )
            if revised.status_code == 201:
                self.acked.append(revision_entry(revised))
        edited = self._call(
            self.api.patch_patient(patient_id, {"weight_kg": 81}, patient.headers["etag"])
        )
        if edited.status_code == 200:
            self.acked.append({"kind": "patient", "patient_id": patient_id, "version": 2})
        self._revise_shared(self.shared[patient_id % len(self.shared)])

    def _revise_shared(self, plan_id: int) -> None:
        seen = self._call(self.api.show_plan(plan_id))
        if seen.status_code != 200:
            return
        revised = self._call(
            self.api.revise_plan(plan_id, encode(revision_body(30)), seen.headers["etag"])
        )
        if revised.status_code == 201:
            self.shared_wins[plan_id] += 1
            self.acked.append(revision_entry(revised))


def test_eight_revisions_from_the_same_version_have_exactly_one_winner(
    stack: Stack, api: Api, racers: list[Api], acked: list[dict[str, Any]]
) -> None:
    _, plan_id = new_plan(api, acked)
    for round_number in range(RACE_ROUNDS):
        etag = api.show_plan(plan_id).headers["etag"]
        body = encode(revision_body(30 if round_number % 2 else 45))
        statuses = all_at_once([partial(c.revise_plan, plan_id, body, etag) for c in racers])
        assert _one_winner(statuses), statuses
        versions = invariants.count(
            stack.database, f"SELECT count(*) FROM plan_version WHERE plan_id = {plan_id}"
        )
        assert versions == round_number + 2, f"round {round_number}: {versions} versions"
    acked.append(revision_entry(api.show_plan(plan_id)))
    _assert_consistent(stack, acked)


def test_eight_edits_of_a_patient_from_the_same_version_have_exactly_one_winner(
    stack: Stack, api: Api, racers: list[Api], acked: list[dict[str, Any]]
) -> None:
    patient_id, _ = new_plan(api, acked)
    for round_number in range(RACE_ROUNDS):
        etag = api.show_patient(patient_id).headers["etag"]
        statuses = all_at_once(
            [
                partial(client.patch_patient, patient_id, {"weight_kg": 60 + n}, etag)
                for n, client in enumerate(racers)
            ]
        )
        assert _one_winner(statuses, success=200), statuses
        version = invariants.count(
            stack.database, f"SELECT version FROM patient WHERE id = {patient_id}"
        )
        assert version == round_number + 2, f"round {round_number}: version {version}"
    acked.append({"kind": "patient", "patient_id": patient_id, "version": RACE_ROUNDS + 1})
    _assert_consistent(stack, acked)


def test_one_idempotency_key_sent_ten_times_at_once_and_ten_times_after_makes_one_plan(
    stack: Stack, api: Api, racers: list[Api], acked: list[dict[str, Any]]
) -> None:
    patient = api.create_patient()
    patient_id = patient.json()["id"]
    acked.append({"kind": "patient", "patient_id": patient_id, "version": 1})
    key, body = f"idem-{uuid.uuid4()}", encode(plan_body())
    clients = [*racers, api, Api(stack.server.base_url, stack.token)]
    plan_ids: set[int] = set()
    lock = threading.Lock()

    def send(client: Api) -> httpx.Response:
        response = client.create_plan(patient_id, body, key)
        if response.status_code == 201:
            with lock:
                plan_ids.add(response.json()["id"])
        return response

    statuses = all_at_once([partial(send, client) for client in clients])
    clients[-1].close()
    for _ in range(10):
        statuses.append(send(api).status_code)
    assert statuses == [201] * 20, statuses
    assert len(plan_ids) == 1, plan_ids
    plans = invariants.count(
        stack.database, f"SELECT count(*) FROM plan WHERE patient_id = {patient_id}"
    )
    creates = invariants.count(
        stack.database,
        f"SELECT count(*) FROM audit_event WHERE action = 'plan.create' "
        f"AND patient_id = {patient_id}",
    )
    assert (plans, creates) == (1, 1)
    acked.append(plan_entry(key, body, api.create_plan(patient_id, body, key)))
    _assert_consistent(stack, acked)


def test_titrate_audit_verify_accepts_the_chain_the_two_workers_wrote(stack: Stack) -> None:
    assert verify_audit_chain(stack.env).startswith("audit chain ok")


def _one_winner(statuses: list[int], success: int = 201) -> bool:
    losers = [s for s in statuses if s != success]
    return statuses.count(success) == 1 and all(s in (409, 412) for s in losers)


def _assert_consistent(stack: Stack, acked: list[dict[str, Any]]) -> None:
    """Server without lock errors or crashes; every acknowledged write stored and audited."""
    errors = stack.server.stderr_text()
    assert "database is locked" not in errors
    assert "unhandled" not in errors, errors[-3000:]
    assert stack.server.process is not None
    assert stack.server.process.poll() is None, "the server died"
    problems = invariants.all_problems(stack.database, acked)
    assert not problems, "\n".join(problems[:20])
