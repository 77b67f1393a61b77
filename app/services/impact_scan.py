"""Recomputing stored plans under other protocols and comparing them (issue 17, item 4), on
every core the machine has.

The impact report and an approval recompute every open plan: 100,000 in a large clinic, each
a JSON decode, an engine run and a schedule comparison, all pure CPU work on values. One
Python process uses one core, so a large scan is cut into batches of ``BATCH`` stored plans
and handed to a pool of worker processes while this process goes on reading the next rows
from the database. A scan of one batch or less (every test clinic, most real ones) runs here
and starts no process.

Workers come from a *forkserver*, not from ``fork``: the server that asks has threads (the
thread pool, the protocol feed), and a child forked from a threaded process can inherit a
lock another thread held. Each worker builds the protocol set once from the protocols'
stored bytes; outcomes come back in plan order, so the report reads the same whichever way
it ran (tests/services/test_impact_scan.py compares both ways).
"""

from __future__ import annotations

import json
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from itertools import chain, islice

from app.db.repositories.protocol_impact import StoredPlan
from app.domain.titration import ProtocolSet, TitrationError, build_plan, load_protocols
from app.domain.titration.impact import Difference, first_difference, segments, stored_segments
from app.domain.titration.plan import PlanStatus
from app.services.plan_codec import request_from_plain

UNREADABLE = "the stored version cannot be read back into an engine request"
BATCH = 2000
# Batches queued per worker: enough that no worker waits for this process's next read,
# few enough that 100,000 plans' JSON text is never all in memory at once.
QUEUED_PER_WORKER = 2


@dataclass(frozen=True, slots=True)
class ChangedPlan:
    plan_id: int
    patient_id: int
    version: int
    difference: Difference
    # The recomputed plan's status: "blocked" means a revision would be refused as it stands.
    status: PlanStatus


@dataclass(frozen=True, slots=True)
class FailedPlan:
    """A plan the engine could not recompute under the version, and the engine's reason."""

    plan_id: int
    patient_id: int
    version: int
    reason: str


Outcome = ChangedPlan | FailedPlan | None  # None: the schedule does not change


def scan(
    plans: Iterable[StoredPlan],
    contents: Mapping[str, bytes],
    since: date,
    *,
    workers: int = 1,
    batch: int = BATCH,
) -> Iterator[Outcome]:
    """One outcome per stored plan, in order: how its recomputation under the protocols whose
    stored ``contents`` are given differs from ``since`` on. ``workers`` > 1 spreads batches
    of ``batch`` plans over that many processes once there is more than one batch."""
    batches = _batches(plans, batch)
    first = next(batches, None)
    if first is None:
        return
    second = next(batches, None)
    every = chain([first] if second is None else [first, second], batches)
    if second is None or workers <= 1:
        protocols = _protocol_set(contents)
        for chunk in every:
            yield from compare(chunk, protocols, since)
        return
    yield from _in_workers(every, contents, since, workers)


def compare(plans: Iterable[StoredPlan], protocols: ProtocolSet, since: date) -> Iterator[Outcome]:
    """For each stored plan: how its recomputation differs from ``since`` on (None: not)."""
    for stored in plans:
        try:
            request = request_from_plain(json.loads(stored.input_json))
            old = stored_segments(json.loads(stored.plan_json).get("steps") or (), since)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            yield FailedPlan(stored.plan_id, stored.patient_id, stored.version, UNREADABLE)
            continue
        try:
            plan = build_plan(request, protocols)
        except TitrationError as error:
            yield FailedPlan(stored.plan_id, stored.patient_id, stored.version, error.message)
            continue
        difference = first_difference(old, segments(plan.steps, since), since)
        if difference is None:
            yield None
        else:
            yield ChangedPlan(
                stored.plan_id, stored.patient_id, stored.version, difference, plan.status
            )


def _batches(plans: Iterable[StoredPlan], size: int) -> Iterator[list[StoredPlan]]:
    rows = iter(plans)
    while chunk := list(islice(rows, size)):
        yield chunk


def _protocol_set(contents: Mapping[str, bytes]) -> ProtocolSet:
    return load_protocols(lambda protocol_id: contents[protocol_id])


def _in_workers(
    batches: Iterable[list[StoredPlan]],
    contents: Mapping[str, bytes],
    since: date,
    workers: int,
) -> Iterator[Outcome]:
    context = multiprocessing.get_context("forkserver")
    # Imported once in the fork server, so each worker starts with the engine loaded.
    context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(dict(contents),)
    ) as pool:
        pending: deque[Future[list[Outcome]]] = deque()
        for chunk in batches:
            pending.append(pool.submit(_compare_in_worker, chunk, since))
            if len(pending) >= QUEUED_PER_WORKER * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


_worker_protocols: ProtocolSet | None = None  # set once in each worker process


def _start_worker(contents: dict[str, bytes]) -> None:
    global _worker_protocols
    _worker_protocols = _protocol_set(contents)


def _compare_in_worker(chunk: Sequence[StoredPlan], since: date) -> list[Outcome]:
    assert _worker_protocols is not None, "the pool's initializer sets the protocols"
    return list(compare(chunk, _worker_protocols, since))
