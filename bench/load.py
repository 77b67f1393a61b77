"""Patient search and the plan page at 1,000 and at 100,000 patients; preview against bare FastAPI.

Each size gets a fresh database, migrated with `titrate migrate`, seeded in bulk with made-up
patients spread over four clinics (one plan each, saved and revised: two versions; with the
search terms and the chained audit rows the services write, loadkit/seed.py), and its own
`titrate serve --workers 2` on loopback. Then one client, one request in flight, sends patient
searches (family-name prefixes, full names, MRNs, queries without a match, the unfiltered
list; API token of the oldest clinic) and plan pages (`GET /plans/{id}` logged in as a
prescriber of that clinic, and `GET /api/v1/plans/{id}`), every row of the table at every
size shuffled together, so a shared machine's noise and drift fall on all of them alike.
Every answer is checked (status, items found or not, the MRN's patient, a page heading).

Preview throughput: `POST /api/v1/plans/preview` on the largest size's server against a bare
FastAPI endpoint served the same way (`app.cli.serve`, same workers, same number of requests
in flight), in alternating rounds. Then VmRSS and peak (VmHWM) of every worker, and the size
of the SQLite write-ahead log.

Machines here are shared and noisy: read the ratios, not the absolute figures.

    .venv/bin/python bench/load.py                   # bounded: 1,000 and 10,000 patients
    .venv/bin/python bench/load.py --full            # 1,000 and 100,000 (the issue's figures)
    .venv/bin/python bench/load.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
        (PostgreSQL: creates and drops the databases bench_1000, bench_10000, ...)
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from loadkit import server, timing
from loadkit.databases import Database, postgres_database, sqlite_database
from loadkit.names import made_up_patients
from loadkit.report import Rates, SizeResult, print_report
from loadkit.seed import seed

PASSWORD = "bench password long enough"
# One prescriber per clinic, oldest clinic first (the seed's authors); the first is measured.
PRESCRIBERS = tuple(f"bench.prescriber.{n}" for n in (1, 2, 3, 4))
CLINICS = (None, "Bench clinic 2", "Bench clinic 3", "Bench clinic 4")
PREVIEW = {
    "plan_type": "oral_titration",
    "start_date": "2026-12-01",
    "indication": "multiple_sclerosis",
    "patient": {
        "birth_date": "1981-05-02", "sex": "male", "weight_kg": 80, "height_cm": 180,
        "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}, "medications": ["amlodipine"],
    },
    "target_daily_dose": {"value": 60, "unit": "mg"},
}  # fmt: skip
# Seeds up to this size get `titrate audit verify` (seconds); larger ones with --verify-audit.
VERIFY_UP_TO = 10_000
WARM_UP = 100  # calls sent before the measured ones (template compiles, caches, connections)
ROUNDS = 3  # preview and bare take turns this often
NO_MATCH = ("zzqx", "Kowalczykówna", "xylo", "Qwertz Uiop", "00000000")
PAGE = "GET /plans/{id} (page)"
CATEGORIES = (
    "search: family-name prefix",
    "search: full name",
    "search: MRN",
    "search: no match",
    "search: list, no query",
    PAGE,
    "GET /api/v1/plans/{id}",
)


@dataclass
class Target:
    """One size: its database, seeded, and its server."""

    result: SizeResult
    database: Database
    process: subprocess.Popen[bytes]
    base: str
    token: str


# A measured call: the server, the table row, the request, and the check of its answer.
Work = tuple[Target, str, timing.Call, Callable[[httpx.Response], None]]


def main() -> None:
    args = _parse_args()
    sizes = (1_000, 100_000) if args.full else tuple(sorted(args.sizes))
    requests = args.requests or (400 if args.full else 150)
    with tempfile.TemporaryDirectory(prefix="titrate-load-") as tmp, ExitStack() as stack:
        targets = [_set_up(args, stack, Path(tmp), size) for size in sizes]
        print(f"measuring {requests} requests per row and size ...", flush=True)
        _measure(targets, requests)
        bare = _serve_bare(args, stack, Path(tmp))
        rates = _preview_rates(args, targets[-1], bare)
        for target in targets:
            target.result.workers = server.workers_of(target.process)
            target.result.wal_mib = target.database.wal_mib()
    backend = "PostgreSQL" if args.database_url else "SQLite (WAL)"
    heading = f"{backend}, titrate serve --workers {args.workers} per size, loopback"
    print_report(heading, [t.result for t in targets], CATEGORIES, rates)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="sizes 1,000 and 100,000")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument(
        "--requests", type=int, help="per row of the table and size (150; 400 with --full)"
    )
    parser.add_argument("--preview-requests", type=int, default=600, help="per round and server")
    parser.add_argument("--in-flight", type=int, default=8, help="clients for throughput")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", help="PostgreSQL server and base name (see above)")
    parser.add_argument(
        "--verify-audit", action="store_true",
        help=f"titrate audit verify after every seed (always up to {VERIFY_UP_TO:,} patients)",
    )  # fmt: skip
    return parser.parse_args()


def _set_up(args: argparse.Namespace, stack: ExitStack, tmp: Path, size: int) -> Target:
    """A database of `size` patients and its server; both end with `stack`."""
    database = stack.enter_context(_database(args, tmp, size))
    env = server.measured_env(database.url)
    token = _prepare(env)
    started = time.monotonic()
    versions = seed(database.url, patients=size, authors=PRESCRIBERS)
    seconds = time.monotonic() - started
    print(f"seeded {size:,} patients, {versions:,} plan versions in {seconds:.1f} s", flush=True)
    if args.verify_audit or size <= VERIFY_UP_TO:
        print(f"  {server.titrate(env, 'audit', 'verify')} (titrate audit verify)", flush=True)
    port = server.free_port()
    process = server.serve_titrate(env, port, args.workers, tmp / f"serve-{size}.log")
    stack.callback(server.stop, process)
    result = SizeResult(size, versions, seconds, database.size_mib())
    return Target(result, database, process, f"http://127.0.0.1:{port}", token)


@contextmanager
def _database(args: argparse.Namespace, tmp: Path, size: int) -> Iterator[Database]:
    if args.database_url:
        with postgres_database(args.database_url, size) as database:
            yield database
        return
    database = sqlite_database(tmp / f"load-{size}.db")
    try:
        yield database
    finally:
        database.remove()


def _prepare(env: dict[str, str]) -> str:
    """Schema, three more clinics, a prescriber in each (the seed's authors), and the API
    token of the measured one's clinic (the oldest, the CLI's default)."""
    server.titrate(env, "migrate")
    for clinic in CLINICS[1:]:
        server.titrate(env, "create-clinic", "--name", clinic)
    for username, clinic in zip(PRESCRIBERS, CLINICS, strict=True):
        where = ("--clinic", clinic) if clinic else ()
        server.titrate(
            env, "create-user", "--username", username, "--role", "prescriber", *where,
            stdin=PASSWORD + "\n",
        )  # fmt: skip
    scopes = ("patients:read", "plans:read", "plans:preview")
    return server.titrate(
        env, "create-token", "--name", "bench", *(a for s in scopes for a in ("--scope", s))
    )


def _measure(targets: list[Target], requests: int) -> None:
    """Every row's calls at every size, shuffled together, one request in flight."""
    rng = random.Random(requests)
    work = [w for target in targets for w in _work(rng, target, requests)]
    rng.shuffle(work)
    with ExitStack() as stack:
        clients = {id(t): _clients(stack, t) for t in targets}
        for target, category, (method, url, _), _ in work[:WARM_UP]:
            clients[id(target)][category == PAGE].request(method, url).raise_for_status()
        for target, category, call, check in work:
            client = clients[id(target)][category == PAGE]
            spent = timing.latencies(client, [call], check=check)
            target.result.timings.setdefault(category, []).extend(spent)


def _work(rng: random.Random, target: Target, requests: int) -> Iterator[Work]:
    """Queries a clinician of the oldest clinic would type, drawn from its own patients:
    patient n (and plan n) belongs to clinic n mod 4, the oldest clinic holds n = 4, 8, ..."""
    patients = made_up_patients(target.result.patients)
    ours = range(4, len(patients) + 1, 4)
    for category in CATEGORIES:
        for _ in range(requests):
            n = rng.choice(ours)
            p, query = patients[n - 1], None
            if category == "search: family-name prefix":
                query = p.family_name[: rng.randint(3, 5)]
            elif category == "search: full name":
                query = f"{p.given_name} {p.family_name}"
            elif category == "search: MRN":
                query = p.mrn
            elif category == "search: no match":
                query = rng.choice(NO_MATCH)
            elif category == "search: list, no query":
                query = ""
            path = f"/plans/{n}" if category == PAGE else f"/api/v1/plans/{n}"
            if query is not None:
                path = str(httpx.URL("/api/v1/patients", params={"q": query}))
            yield target, category, ("GET", path, None), _checker(category, n)


def _checker(category: str, n: int) -> Callable[[httpx.Response], None]:
    """Each answer must be the right one, or the timing would measure an error page."""

    def check(response: httpx.Response) -> None:
        response.raise_for_status()
        if category.startswith("search"):
            ids = [item["id"] for item in response.json()["items"]]
            wanted_empty = category == "search: no match"
            if bool(ids) == wanted_empty or (category == "search: MRN" and ids != [n]):
                raise SystemExit(f"{category}: unexpected result {ids[:5]} for {response.url}")
        elif category == PAGE and "<h1" not in response.text:
            raise SystemExit(f"{category}: not a page: {response.url}")

    return check


def _clients(stack: ExitStack, target: Target) -> tuple[httpx.Client, httpx.Client]:
    """(API client with the token, web client logged in): index with `category == PAGE`."""
    headers = {"Authorization": f"Bearer {target.token}"}
    api = stack.enter_context(httpx.Client(base_url=target.base, headers=headers, timeout=30))
    web = stack.enter_context(httpx.Client(base_url=target.base, timeout=30))
    page = web.get("/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf, "no CSRF token on the login page"
    data = {"username": PRESCRIBERS[0], "password": PASSWORD, "csrf_token": csrf.group(1)}
    assert web.post("/login", data=data).status_code == 303, "bench login failed"
    return api, web


def _serve_bare(args: argparse.Namespace, stack: ExitStack, tmp: Path) -> str:
    port = server.free_port()
    process = server.serve_bare(dict(os.environ), port, args.workers, tmp / "bare.log")
    stack.callback(server.stop, process)
    return f"http://127.0.0.1:{port}"


def _preview_rates(args: argparse.Namespace, target: Target, bare: str) -> Rates:
    """Preview and bare in turns, so drift of the machine's load falls on both."""
    headers = {"Authorization": f"Bearer {target.token}"}
    runs = {
        "titrate": (target.base, headers, ("POST", "/api/v1/plans/preview", PREVIEW)),
        "bare": (bare, {}, ("POST", "/bare", PREVIEW)),
    }
    seconds = dict.fromkeys(runs, 0.0)
    for _ in range(ROUNDS):
        for name, (base, head, call) in runs.items():
            rate = timing.throughput(
                lambda base=base, head=head: httpx.Client(base_url=base, headers=head, timeout=30),
                call,
                requests=args.preview_requests,
                in_flight=args.in_flight,
            )
            seconds[name] += args.preview_requests / rate
    total = ROUNDS * args.preview_requests
    return Rates(total / seconds["titrate"], total / seconds["bare"], total, args.in_flight, ROUNDS)


if __name__ == "__main__":
    main()
