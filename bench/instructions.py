"""Instructions per request, counted by valgrind's callgrind: a figure the machine's load
does not move, for deciding whether a change to a hot path helps.

Wall-clock rates on these shared two-core machines drift by a third between runs of the
same code; callgrind counts the instructions the process executes (all its threads, not
the kernel's), the same within half a percent from run to run. The app runs in this
process on a fresh SQLite database, driven through httpx's ASGI transport (no socket, no
uvicorn); after a warm-up, callgrind counts `--requests` requests of each target:

- bare:     loadkit/bare_server.py's endpoint (bench/preview.py's yardstick);
- json:     the JSON preview, POST /api/v1/plans/preview with a bearer token;
- fragment: the live-preview fragment, the same state each time (remembered after the first);
- fragment-new: the live-preview fragment, a state not asked for before each time.

The ratio bare / target is comparable with bench/preview.py's throughput ratios, without
uvicorn's share of each request and without threads competing under load.

    .venv/bin/python bench/instructions.py [--requests 100]      (needs valgrind)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from loadkit import server

WARM_UP = 30
TARGETS = ("bare", "json", "fragment", "fragment-new")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--target", choices=TARGETS, help=argparse.SUPPRESS)  # under valgrind
    args = parser.parse_args()
    if args.target:
        asyncio.run(_drive(args.target, args.requests))
        return
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is missing (Debian package valgrind)")
    counts = {target: _count(target, args.requests) for target in TARGETS}
    for target, count in counts.items():
        ratio = counts["bare"] / count
        print(f"{target:<13} {count / 1e6:7.2f} M instructions per request  bare/this {ratio:.2f}")


def _count(target: str, requests: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={out}", sys.executable, __file__,
             "--target", target, "--requests", str(requests)],
            check=True, capture_output=True, cwd=server.ROOT,
        )  # fmt: skip
        totals = re.search(r"^totals:\s+(\d+)", out.read_text(), re.MULTILINE)
        if totals is None:
            raise SystemExit(f"callgrind counted nothing for {target}")
        return int(totals.group(1)) / requests


Post = Callable[[int], Awaitable[None]]


async def _drive(target: str, requests: int) -> None:
    """Under valgrind: warm up, then count `requests` requests of `target`."""
    if target == "bare":
        driver = _bare()
    elif target == "json":
        driver = _titrate(_json_preview)
    else:
        driver = _titrate(_fragment_preview, new_states=target == "fragment-new")
    async with driver as post:
        for n in range(WARM_UP):
            await post(n)
        _instrument("on")
        for n in range(WARM_UP, WARM_UP + requests):
            await post(n)
        _instrument("off")


def _instrument(state: str) -> None:
    subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], check=True,
                   capture_output=True)  # fmt: skip


def _client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


@asynccontextmanager
async def _bare() -> AsyncIterator[Post]:
    import preview
    from loadkit.bare_server import app

    body, headers = json.dumps(preview.BODY), {"Content-Type": "application/json"}
    async with _client(app) as client:

        async def post(_: int) -> None:
            (await client.post("/bare", content=body, headers=headers)).raise_for_status()

        yield post


Target = Callable[..., Awaitable[Post]]


@asynccontextmanager
async def _titrate(target: Target, **options: bool) -> AsyncIterator[Post]:
    """Titrate on a fresh SQLite database, with a made-up patient, driven by `target`."""
    import preview

    with tempfile.TemporaryDirectory() as tmp:
        env = server.measured_env(f"sqlite:///{tmp}/instructions.db")
        os.environ.update(env)  # create_app reads its settings from this process's environment
        preview_token, writer = preview.set_up(env)
        from app.main import create_app

        app = create_app()
        async with app.router.lifespan_context(app), _client(app) as client:
            auth = {"Authorization": f"Bearer {writer}"}
            created = await client.post("/api/v1/patients", json=preview.PATIENT, headers=auth)
            patient_id = created.raise_for_status().json()["id"]
            yield await target(client, patient_id, preview_token, **options)


async def _json_preview(client: httpx.AsyncClient, _: int, token: str) -> Post:
    import preview

    body = json.dumps(preview.BODY)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    async def post(_: int) -> None:
        sent = await client.post("/api/v1/plans/preview", content=body, headers=headers)
        sent.raise_for_status()

    return post


async def _fragment_preview(
    client: httpx.AsyncClient, patient_id: int, _: str, *, new_states: bool
) -> Post:
    import preview

    url = f"/patients/{patient_id}/plans/preview"
    headers = await _log_in(client, preview.PASSWORD)

    async def post(n: int) -> None:
        values = dict(preview.FORM)
        if new_states:  # a new start date each time: nothing remembered applies
            values["start_date"] = (date(2026, 12, 1) + timedelta(days=n)).isoformat()
        sent = await client.post(url, content=urlencode(values), headers=headers)
        sent.raise_for_status()

    return post


async def _log_in(client: httpx.AsyncClient, password: str) -> dict[str, str]:
    """Log the bench prescriber in; the headers htmx sends with a fragment request."""
    login = (await client.get("/login")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
    form = {"username": "bench.prescriber", "password": password, "csrf_token": token}
    if (await client.post("/login", data=form)).status_code != 303:
        raise SystemExit("bench login failed")
    page = (await client.get("/patients")).text
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return {"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf,
            "HX-Request": "true"}  # fmt: skip


if __name__ == "__main__":
    main()
