"""Start servers on loopback in their own process group, and read their workers' memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


@dataclass(frozen=True, slots=True)
class Worker:
    pid: int
    rss_kib: int
    peak_kib: int  # VmHWM: the most the worker has held resident


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measured_env(database_url: str) -> dict[str, str]:
    """The environment of a Titrate under measurement, on `database_url`."""
    return {
        **os.environ,
        "TITRATE_DATABASE_URL": database_url,
        "TITRATE_ENVIRONMENT": "dev",
        "TITRATE_LOG_LEVEL": "WARNING",  # no console I/O per request in the figures
        # Measured load, not abuse: the per-token/per-user request limits stay out of the way.
        "TITRATE_TOKEN_REQUESTS_PER_MINUTE": "100000",
        "TITRATE_USER_REQUESTS_PER_MINUTE": "100000",
        "TITRATE_REQUEST_BURST": "10000",
    }


def titrate(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run one `titrate` command (as `python -m app.cli`) and return its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True, input=stdin,
    )  # fmt: skip
    return done.stdout.strip()


def serve_titrate(
    env: dict[str, str], port: int, workers: int, log: Path, *, tree: Path | None = None
) -> subprocess.Popen[bytes]:
    """`titrate serve` from this checkout, or from another `tree` with its own `.venv` (a
    before/after comparison in one run, on the same database)."""
    python = str(tree / ".venv" / "bin" / "python") if tree else sys.executable
    command = [python, "-m", "app.cli", "serve", "--port", str(port)]
    return _start([*command, "--workers", str(workers)], env, port, "/healthz", log, cwd=tree)


def serve_bare(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    """loadkit/bare_server.py, served through the same `app.cli.serve` as Titrate."""
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH), env.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "loadkit.bare_server", str(port), str(workers)]
    return _start(command, env, port, "/docs", log)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's own process group (its workers), SIGKILL if it lingers."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def workers_of(process: subprocess.Popen[bytes]) -> list[Worker]:
    """uvicorn's worker processes (spawned children running the app; the server itself when
    it runs a single worker), with their resident and peak memory."""
    workers = []
    for child in _children(process.pid):
        cmdline = _read(f"/proc/{child}/cmdline").replace("\0", " ")
        if "spawn_main" not in cmdline:
            continue  # multiprocessing's resource tracker, not a worker
        workers.append(Worker(child, *_memory_kib(child)))
    return workers or [Worker(process.pid, *_memory_kib(process.pid))]


def _start(
    command: list[str],
    env: dict[str, str],
    port: int,
    probe: str,
    log: Path,
    *,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server whose output goes to `log` (the figures need a quiet terminal)."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, env=env, cwd=cwd or ROOT, start_new_session=True, stdout=output, stderr=output
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"server exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(process)
    raise SystemExit("server did not answer within 60 s")


def _children(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _read(f"/proc/{entry}/stat")
        # The command name (field 2) may hold spaces; the parent id follows the closing paren.
        if stat and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry))
    return sorted(children)


def _memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in KiB."""
    status = _read(f"/proc/{pid}/status").splitlines()
    fields = dict(line.split(":", 1) for line in status if ":" in line)
    rss, peak = (int(fields.get(name, "0 kB").split()[0]) for name in ("VmRSS", "VmHWM"))
    return rss, peak


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""
