"""Recomputing stored plans under other protocols and comparing them (issue 17, item 4), on
every core the machine has.

The impact report and an approval recompute every open plan: 100,000 in a large clinic, each
two JSON decodes, an engine run and a schedule comparison, all CPU work in Python, which
uses one core per process. So a large scan is cut into batches of ``BATCH`` plan ids and
handed to a pool of worker processes; each worker reads its batch's rows itself (its own
read-only transaction) and sends back only the outcomes that are not "unchanged". This
process reads nothing but the ids: shipping the rows (≈ 7 KB of JSON each) through pipes
would make it the bottleneck. A scan of one batch or less (every test clinic, most real
ones), or of a database other processes cannot open (SQLite in memory), runs here and starts
no process.

Workers come from a *forkserver*, not from ``fork``: the server that asks has threads (the
thread pool, the protocol feed), and a child forked from a threaded process can inherit a
lock another thread held. Each worker builds the protocol set once from the protocols'
stored bytes. Outcomes come back in plan order, so the report reads the same whichever way
it ran (tests/integration/services/test_impact_scan.py compares both ways). A worker reads
a little later than the ids were listed: a plan closed meanwhile is left out, one revised
meanwhile is compared in its new version.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import make_engine, make_sessionmaker
from app.db.repositories.protocol_impact import StoredPlan, open_plan_ids, open_plans
from app.domain.titration import ProtocolSet, TitrationError, build_plan, load_stored_protocols
from app.domain.titration.impact import Difference, first_difference, segments, stored_segments
from app.domain.titration.plan import PlanStatus
from app.services.plan_codec import request_from_plain
from app.services.reads import read_only

UNREADABLE = "the stored version cannot be read back into an engine request"
BATCH = 2000
# Batches queued per worker: enough that no worker waits for the next, few enough that the
# outcomes of a 100,000-plan scan never wait in memory all at once.
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


Outcome = ChangedPlan | FailedPlan


@dataclass(frozen=True, slots=True)
class ScanResult:
    """How many open plans were compared, and those that change or could not be recomputed,
    by plan id."""

    checked: int
    outcomes: tuple[Outcome, ...]


def scan(
    session: Session,
    clinic_id: int | None,
    contents: dict[str, bytes],
    since: date,
    *,
    workers: int = 1,
    batch: int = BATCH,
) -> ScanResult:
    """Compare every open plan (of one clinic; of all for None) recomputed under the
    protocols whose stored ``contents`` are given with its current version, from ``since``
    on, on up to ``workers`` processes. Reads in read-only transactions: ``session``'s, and
    each worker's own."""
    url = session.get_bind().engine.url
    with read_only(session):
        ids = open_plan_ids(session, clinic_id)
        if workers <= 1 or len(ids) <= batch or url.database in (None, "", ":memory:"):
            protocols = load_stored_protocols(contents)
            return _tally(compare(open_plans(session, clinic_id), protocols, since))
    batches = [ids[start : start + batch] for start in range(0, len(ids), batch)]
    database_url = url.render_as_string(hide_password=False)
    return _in_workers(batches, database_url, contents, since, workers)


def compare(
    plans: Iterable[StoredPlan], protocols: ProtocolSet, since: date
) -> Iterator[Outcome | None]:
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


def _tally(outcomes: Iterable[Outcome | None]) -> ScanResult:
    checked, kept = 0, []
    for outcome in outcomes:
        checked += 1
        if outcome is not None:
            kept.append(outcome)
    return ScanResult(checked, tuple(kept))


def _in_workers(
    batches: Sequence[list[int]],
    database_url: str,
    contents: dict[str, bytes],
    since: date,
    workers: int,
) -> ScanResult:
    context = multiprocessing.get_context("forkserver")
    # Imported once in the fork server, so each worker starts with the engine loaded.
    context.set_forkserver_preload([__name__])
    checked, kept = 0, list[Outcome]()
    with ProcessPoolExecutor(
        min(workers, len(batches)), mp_context=context,
        initializer=_start_worker, initargs=(database_url, contents),
    ) as pool:  # fmt: skip
        pending: deque[Future[ScanResult]] = deque()
        for ids in batches:
            pending.append(pool.submit(_scan_in_worker, ids, since))
            if len(pending) >= QUEUED_PER_WORKER * workers:
                checked, kept = _add(pending.popleft().result(), checked, kept)
        while pending:
            checked, kept = _add(pending.popleft().result(), checked, kept)
    return ScanResult(checked, tuple(kept))


def _add(part: ScanResult, checked: int, kept: list[Outcome]) -> tuple[int, list[Outcome]]:
    kept.extend(part.outcomes)
    return checked + part.checked, kept


# Set once in each worker process by _start_worker.
_worker_protocols: ProtocolSet | None = None
_worker_sessions: sessionmaker[Session] | None = None


def _start_worker(database_url: str, contents: dict[str, bytes]) -> None:
    global _worker_protocols, _worker_sessions
    _worker_protocols = load_stored_protocols(contents)
    _worker_sessions = make_sessionmaker(make_engine(database_url))


def _scan_in_worker(ids: list[int], since: date) -> ScanResult:
    if _worker_protocols is None or _worker_sessions is None:
        raise RuntimeError("a scan worker runs only in a pool that set it up (_start_worker)")
    with _worker_sessions() as session, read_only(session):
        # By id alone: the ids were listed within the clinic's scope, and a clinic filter
        # here leads SQLite to walk every patient of the clinic for each batch.
        plans = open_plans(session, None, ids)
        return _tally(compare(plans, _worker_protocols, since))
