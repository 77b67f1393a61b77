"""Preview throughput against a bare FastAPI endpoint served the same way, measured with `wrk`.

Four targets on two `app.cli.serve` processes (the bare app, Titrate) of ONE worker each on
loopback, driven by `wrk` (Debian package; installed by `make bench-deps`, or here when run
as root) with one thread and 16 connections on the same machine:

- bare:     loadkit/bare_server.py, POST /bare (a `def` handler parsing JSON, answering JSON:
            no token, no database, no engine);
- json:     POST /api/v1/plans/preview with a bearer token (scope plans:preview);
- fragment: POST /patients/{id}/plans/preview with HX-Request, logged in, CSRF token in the
            header as htmx sends it (the live preview's HTML fragment);
- fragment-new: the same, but each request a state not asked for before (start date and
            target dose move on with every request), so neither the engine's memory nor the
            remembered fragments (web/preview_fragment.py) can help: the floor, printed
            beside the repeated request so that figure cannot flatter. No goal.

Rounds alternate the targets, so a shared machine's drift falls on all alike;
the figure of each target is the median of its rounds, the ratio the median over the bare
median. Goals (issue 12): json ≥ 0.5×, fragment ≥ 0.3×. Every response must be 2xx (wrk
counts the others; the bench fails on any). The per-request log line is at INFO level; the
servers run at WARNING, as the figures are about the framework path.

With `--before TREE` (another checkout with its own `.venv`, e.g. the main branch), that
tree's `titrate serve` runs beside this one on the same database and a fifth target,
`fragment@before`, drives its live preview in the same alternating rounds: a before/after
comparison in one run.

    .venv/bin/python bench/preview.py [--rounds 3] [--seconds 10] [--before /work/main]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
from loadkit import server

CONNECTIONS = 16
BODY = {
    "plan_type": "oral_titration",
    "start_date": "2026-12-01",
    "indication": "multiple_sclerosis",
    "patient": {
        "birth_date": "1981-05-02", "sex": "male", "weight_kg": 80, "height_cm": 180,
        "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}, "medications": ["amlodipine"],
    },
    "target_daily_dose": {"value": 60, "unit": "mg"},
}  # fmt: skip
FORM = {
    "plan_type": "oral_titration", "indication": "multiple_sclerosis", "setting": "outpatient",
    "start_date": "2026-12-01", "target_daily_dose": "60",
}  # fmt: skip
PATIENT = {
    "mrn": "BENCH-1", "given_name": "Bench", "family_name": "Fictional",
    "birth_date": "1981-05-02", "sex": "male", "weight_kg": 80, "height_cm": 180,
    "serum_creatinine": {"value": 0.9, "unit": "mg/dL"}, "medications": ["amlodipine"],
}  # fmt: skip
PASSWORD = "bench password long enough"
NEW_STATE_FIELDS = ("start_date", "target_daily_dose")
NEW_STATE_FIRST_DAY = 1_796_083_200  # 2026-12-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class Run:
    rate: float
    p50_ms: float
    p99_ms: float
    bad: int  # answers other than 2xx/3xx
    socket_errors: int  # connect/read/write errors and wrk's 2 s client timeouts


def ensure_wrk() -> str:
    """The wrk binary; apt-get installs the Debian package when missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: run `make bench-deps` as root (apt-get install wrk)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    return shutil.which("wrk") or "/usr/bin/wrk"


def lua_script(path: Path, body: str, headers: dict[str, str]) -> Path:
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def lua_script_new_states(path: Path, form: dict[str, str], headers: dict[str, str]) -> Path:
    """A script whose every request is a new state: start date and target dose are counted
    on (365 dates × 11 doses from 30 to 80 mg/day, more than a round sends)."""
    fixed = urlencode({k: v for k, v in form.items() if k not in NEW_STATE_FIELDS})
    lines = ['wrk.method = "POST"', "local n = 0", f"local fixed = {json.dumps(fixed)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    lines += [
        "request = function()",
        "  n = n + 1",
        f'  local day = os.date("!%Y-%m-%d", {NEW_STATE_FIRST_DAY} + (n % 365) * 86400)',
        "  local dose = 30 + 5 * (math.floor(n / 365) % 11)",
        '  local body = fixed .. "&start_date=" .. day .. "&target_daily_dose=" .. dose',
        "  return wrk.format(nil, nil, nil, body)",
        "end",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk(binary: str, url: str, script: Path, seconds: int) -> Run:
    done = subprocess.run(
        [binary, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    out = done.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return Run(
        rate, _latency(out, "50%"), _latency(out, "99%"), int(bad.group(1)) if bad else 0, errors
    )


def _latency(out: str, label: str) -> float:
    match = re.search(rf"\s{re.escape(label)}\s+([\d.]+)(us|ms|s)\b", out)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def set_up(env: dict[str, str]) -> tuple[str, str]:
    """Schema, the prescriber who logs in, and (preview token, patient-writing token)."""
    server.titrate(env, "migrate")
    token = server.titrate(env, "create-token", "--name", "bench", "--scope", "plans:preview")
    writer = server.titrate(
        env, "create-token", "--name", "bench_writer", "--scope", "patients:write"
    )
    server.titrate(env, "create-user", "--username", "bench.prescriber", "--role",
                   "prescriber", stdin=PASSWORD + "\n")  # fmt: skip
    return token, writer


def log_in(base: str) -> tuple[str, str]:
    """(Cookie header, CSRF token) of a prescriber logged in through the real form."""
    with httpx.Client(base_url=base, timeout=10) as client:
        page = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        data = {"username": "bench.prescriber", "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 303, "bench login failed"
        csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/patients").text).group(1)  # type: ignore[union-attr]
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return cookie, csrf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--before", type=Path, help="another checkout to compare, e.g. main")
    args = parser.parse_args()
    binary = ensure_wrk()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = server.measured_env(f"sqlite:///{tmp}/bench.db")
        token, writer = set_up(env)
        app_port, bare_port = server.free_port(), server.free_port()
        log = tmp / "servers.log"
        titrate = server.serve_titrate(env, app_port, 1, log)
        bare = server.serve_bare(env, bare_port, 1, log)
        before_port = server.free_port()
        before = (
            server.serve_titrate(env, before_port, 1, log, tree=args.before)
            if args.before
            else None
        )
        try:
            base = f"http://127.0.0.1:{app_port}"
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {writer}"}) as api:
                created = api.post("/api/v1/patients", json=PATIENT).raise_for_status()
                patient_id = created.json()["id"]
            cookie, csrf = log_in(base)
            json_headers = {"Content-Type": "application/json"}
            targets = {
                "bare": (f"http://127.0.0.1:{bare_port}/bare",
                         lua_script(tmp / "bare.lua", json.dumps(BODY), json_headers)),
                "json": (f"{base}/api/v1/plans/preview",
                         lua_script(tmp / "json.lua", json.dumps(BODY),
                                    json_headers | {"Authorization": f"Bearer {token}"})),
                "fragment": (f"{base}/patients/{patient_id}/plans/preview",
                             lua_script(tmp / "fragment.lua", urlencode(FORM), {
                                 "Content-Type": "application/x-www-form-urlencoded",
                                 "Cookie": cookie, "X-CSRF-Token": csrf, "HX-Request": "true"})),
                "fragment-new": (f"{base}/patients/{patient_id}/plans/preview",
                                 lua_script_new_states(tmp / "fragment-new.lua", FORM, {
                                     "Content-Type": "application/x-www-form-urlencoded",
                                     "Cookie": cookie, "X-CSRF-Token": csrf,
                                     "HX-Request": "true"})),
            }  # fmt: skip
            if before is not None:
                before_base = f"http://127.0.0.1:{before_port}"
                before_cookie, before_csrf = log_in(before_base)
                targets["fragment@before"] = (
                    f"{before_base}/patients/{patient_id}/plans/preview",
                    lua_script(tmp / "before.lua", urlencode(FORM), {
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Cookie": before_cookie, "X-CSRF-Token": before_csrf,
                        "HX-Request": "true"}),
                )  # fmt: skip
            for url, script in targets.values():  # warm-up, and a check of the answers
                wrk(binary, url, script, 2)
            runs: dict[str, list[Run]] = {name: [] for name in targets}
            for round_no in range(1, args.rounds + 1):
                for name, (url, script) in targets.items():
                    run = wrk(binary, url, script, args.seconds)
                    runs[name].append(run)
                    print(
                        f"round {round_no}  {name:<15} {run.rate:8.0f} req/s  "
                        f"p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms  "
                        f"non-2xx {run.bad}  socket errors {run.socket_errors}"
                    )
        finally:
            server.stop(titrate)
            server.stop(bare)
            if before is not None:
                server.stop(before)
    medians = {name: statistics.median(r.rate for r in rs) for name, rs in runs.items()}
    bad = sum(r.bad for rs in runs.values() for r in rs)
    print(
        f"\nwrk -t1 -c{CONNECTIONS} -d{args.seconds}s, one server worker each, median of "
        f"{args.rounds} alternating rounds; load average {os.getloadavg()[0]:.2f}"
    )
    for name, rate in medians.items():
        print(f"{name:<15} median {rate:8.0f} req/s")
    goals = {"json": 0.5, "fragment": 0.3, "fragment-new": None, "fragment@before": 0.3}
    for name, goal in goals.items():
        if name in medians:
            ratio = medians[name] / medians["bare"]
            target = f"goal ≥ {goal}" if goal else "no goal: the floor, nothing remembered"
            print(f"ratio {name} preview / bare: {ratio:.2f}  ({target})")
    if "fragment@before" in medians:
        print(f"fragment after / before: {medians['fragment'] / medians['fragment@before']:.2f}")
    print(f"non-2xx responses: {bad}")
    timeouts = sum(r.socket_errors for rs in runs.values() for r in rs)
    print(f"socket errors (incl. wrk's 2 s client timeouts): {timeouts}")
    if bad:
        raise SystemExit("some responses were not 2xx")


if __name__ == "__main__":
    main()
