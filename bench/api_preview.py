"""Throughput of POST /api/v1/plans/preview against a bare FastAPI endpoint, served the same way.

Both apps run under uvicorn (one worker) on loopback, one after the other, and are driven by
the same sequential httpx client, so the ratio shows what the planner costs on top of
FastAPI itself. Machines here are shared and noisy: read the ratio, not the absolute times.

    .venv/bin/python bench/api_preview.py [--requests 400]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BODY = {
    "plan_type": "oral_titration",
    "start_date": "2026-12-01",
    "indication": "multiple_sclerosis",
    "patient": {
        "birth_date": "1981-05-02",
        "sex": "male",
        "weight_kg": 80,
        "height_cm": 180,
        "serum_creatinine": {"value": 0.9, "unit": "mg/dL"},
        "medications": ["amlodipine"],
    },
    "target_daily_dose": {"value": 60, "unit": "mg"},
}

BARE_APP = """
from fastapi import FastAPI
app = FastAPI()

@app.post("/bare")
def bare(body: dict) -> dict:
    return {"status": "ok", "echo": len(body)}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        *args,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("server did not start")


def measure(url: str, headers: dict[str, str], requests: int) -> list[float]:
    timings = []
    with httpx.Client(headers=headers, timeout=10) as client:
        for _ in range(20):  # warm-up
            client.post(url, json=BODY).raise_for_status()
        for _ in range(requests):
            started = time.perf_counter()
            client.post(url, json=BODY).raise_for_status()
            timings.append(time.perf_counter() - started)
    return timings


def report(name: str, timings: list[float]) -> float:
    ordered = sorted(timings)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    rate = len(timings) / sum(timings)
    print(f"{name:<28} {rate:8.0f} req/s   p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "TITRATE_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "TITRATE_ENVIRONMENT": "dev",
        }
        titrate = [sys.executable, "-m", "app.cli"]
        subprocess.run([*titrate, "migrate"], env=env, cwd=ROOT, check=True)
        token = subprocess.run(
            [*titrate, "create-token", "--name", "bench", "--scope", "plans:preview"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        (Path(tmp) / "bare_app.py").write_text(BARE_APP)
        rates = {}
        port = free_port()
        server = serve(["--factory", "app.main:create_app"], env, port)
        try:
            rates["preview"] = report(
                "POST /api/v1/plans/preview",
                measure(
                    f"http://127.0.0.1:{port}/api/v1/plans/preview",
                    {"Authorization": f"Bearer {token}"},
                    args.requests,
                ),
            )
        finally:
            server.kill()
        port = free_port()
        server = serve(["--app-dir", tmp, "bare_app:app"], env, port)
        try:
            rates["bare"] = report(
                "POST /bare (bare FastAPI)",
                measure(f"http://127.0.0.1:{port}/bare", {}, args.requests),
            )
        finally:
            server.kill()
    print(f"ratio preview/bare throughput: {rates['preview'] / rates['bare']:.2f}")


if __name__ == "__main__":
    main()
