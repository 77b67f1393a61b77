"""Plan previews against a bare FastAPI endpoint served the same way, as throughput ratios.

Measures the JSON preview (POST /api/v1/plans/preview) and the planner's live-preview HTML
fragment (POST /patients/{id}/plans/preview with HX-Request, logged in, CSRF token sent as
htmx does). Each app runs under uvicorn (one worker) on loopback, one after the other, driven
by the same sequential httpx client. Machines here are shared and noisy: read the ratios.

    .venv/bin/python bench/preview.py [--requests 400]
"""

from __future__ import annotations

import argparse
import os
import re
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


def measure(
    client: httpx.Client, url: str, requests: int, *, json: object = None, data: object = None
) -> list[float]:
    timings = []
    for _ in range(20):  # warm-up
        client.post(url, json=json, data=data).raise_for_status()
    for _ in range(requests):
        started = time.perf_counter()
        client.post(url, json=json, data=data).raise_for_status()
        timings.append(time.perf_counter() - started)
    return timings


FORM = {
    "plan_type": "oral_titration", "indication": "multiple_sclerosis", "setting": "outpatient",
    "start_date": "2026-12-01", "target_daily_dose": "60",
}  # fmt: skip
PATIENT = {
    "mrn": "BENCH-1", "given_name": "Bench", "family_name": "Fictional", "birth_date": "1981-05-02",
    "sex": "male", "weight_kg": 80, "height_cm": 180,
    "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}, "medications": ["amlodipine"],
}  # fmt: skip
PASSWORD = "bench password long enough"


def logged_in_client(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    data = {"username": "bench.prescriber", "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data).status_code == 303, "bench login failed"
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/patients").text).group(1)  # type: ignore[union-attr]
    client.headers.update({"X-CSRF-Token": csrf, "HX-Request": "true"})
    return client


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
            "TITRATE_LOG_LEVEL": "WARNING",  # no console I/O per request in the figures
            # Measured load, not abuse: the per-token/per-user request limits stay out of the way.
            "TITRATE_TOKEN_REQUESTS_PER_MINUTE": "100000",
            "TITRATE_USER_REQUESTS_PER_MINUTE": "100000",
            "TITRATE_REQUEST_BURST": "10000",
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
        subprocess.run(
            [*titrate, "create-user", "--username", "bench.prescriber", "--role", "prescriber"],
            env=env,
            cwd=ROOT,
            check=True,
            input=PASSWORD + "\n",
            text=True,
        )
        writer = subprocess.run(
            [*titrate, "create-token", "--name", "bench_writer", "--scope", "patients:write"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        rates = {}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = serve(["--factory", "app.main:create_app"], env, port)
        try:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {writer}"}) as api:
                patient_id = (
                    api.post("/api/v1/patients", json=PATIENT).raise_for_status().json()["id"]
                )
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as api:
                rates["json"] = report(
                    "POST /api/v1/plans/preview",
                    measure(api, "/api/v1/plans/preview", args.requests, json=BODY),
                )
            web = logged_in_client(base)
            url = f"/patients/{patient_id}/plans/preview"
            fragment = measure(web, url, args.requests, data=FORM)
            rates["html"] = report("POST planner preview fragment", fragment)
            web.close()
        finally:
            server.kill()
        port = free_port()
        server = serve(["--app-dir", tmp, "bare_app:app"], env, port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as bare:
                rates["bare"] = report(
                    "POST /bare (bare FastAPI)", measure(bare, "/bare", args.requests, json=BODY)
                )
        finally:
            server.kill()
    print(f"ratio JSON preview / bare throughput:     {rates['json'] / rates['bare']:.2f}")
    print(f"ratio HTML fragment / bare throughput:    {rates['html'] / rates['bare']:.2f}")


if __name__ == "__main__":
    main()
