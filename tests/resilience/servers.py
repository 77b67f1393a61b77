"""Real `titrate` processes for the resilience tests: databases, CLI calls, servers.

Everything binds to 127.0.0.1 on a free port above 1024. A server runs in its own process
group (`start_new_session=True`), so killing the group takes every uvicorn worker with it;
callers record each server and stop it in a `finally` or a fixture finaliser.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TITRATE = str(Path(sys.executable).with_name("titrate"))
LOOPBACK = "127.0.0.1"
SECRET_KEY = "resilience-tests-secret-key-" + "0" * 20
CLI_TIMEOUT_S = 60


@dataclass(frozen=True, slots=True)
class Database:
    """A database of one test's own: a SQLite file, or a fresh PostgreSQL database."""

    url: str  # SQLAlchemy URL, as TITRATE_DATABASE_URL takes it
    kind: str  # "sqlite" | "postgresql"

    @property
    def sqlite_path(self) -> Path:
        assert self.kind == "sqlite"
        return Path(self.url.split("///", 1)[1])

    @property
    def libpq_url(self) -> str:
        """The same database for psycopg (no SQLAlchemy driver suffix)."""
        assert self.kind == "postgresql"
        return self.url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_database(tmp_dir: Path) -> Database:
    """SQLite under `tmp_dir`, or a new database on the server TEST_DATABASE_URL names."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        return Database(url=f"sqlite:///{tmp_dir / 'titrate.db'}", kind="sqlite")
    import psycopg

    name = f"titrate_res_{secrets.token_hex(6)}"
    with psycopg.connect(_libpq(base), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return Database(url=_with_database(base, name), kind="postgresql")


def drop_database(database: Database) -> None:
    if database.kind != "postgresql":
        return  # the SQLite file goes with pytest's temporary directory
    import psycopg

    name = database.url.rsplit("/", 1)[1].split("?", 1)[0]
    base = os.environ["TEST_DATABASE_URL"]
    with psycopg.connect(_libpq(base), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    head, _, tail = url.rpartition("/")
    query = tail.split("?", 1)[1] if "?" in tail else ""
    return f"{head}/{name}" + (f"?{query}" if query else "")


def server_env(database: Database, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITRATE_")}
    env.update(
        TITRATE_ENVIRONMENT="test",
        TITRATE_DATABASE_URL=database.url,
        TITRATE_SECRET_KEY=SECRET_KEY,
        TITRATE_LOG_LEVEL="WARNING",
        # Load, not abuse: the per-token and per-user limits would refuse these writers.
        TITRATE_TOKEN_REQUESTS_PER_MINUTE="100000",
        TITRATE_USER_REQUESTS_PER_MINUTE="100000",
        TITRATE_REQUEST_BURST="10000",
        # The code of this checkout, whichever checkout the `titrate` script was installed from.
        PYTHONPATH=str(PROJECT_ROOT),
    )
    env.update(extra)
    return env


def run_cli(env: Mapping[str, str], *args: str, stdin: str = "") -> str:
    """Runs `titrate ARGS`; returns standard output, fails the test on a non-zero exit."""
    done = subprocess.run(
        [TITRATE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=PROJECT_ROOT,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"titrate {' '.join(args)} failed:\n{done.stderr[-2000:]}"
    return done.stdout


def migrate(env: Mapping[str, str]) -> None:
    run_cli(env, "migrate")


def create_token(env: Mapping[str, str], name: str = "resilience") -> str:
    scopes = ("patients:read", "patients:write", "plans:read", "plans:write", "plans:preview",
              "plans:review")  # fmt: skip
    options = [option for scope in scopes for option in ("--scope", scope)]
    return run_cli(env, "create-token", "--name", name, *options).strip()


def create_user(env: Mapping[str, str], *, username: str, role: str, password: str) -> None:
    run_cli(env, "create-user", "--username", username, "--role", role, stdin=password + "\n")


def verify_audit_chain(env: Mapping[str, str]) -> str:
    """`titrate audit verify`, as an operator runs it; fails the test on a broken chain."""
    report = run_cli(env, "audit", "verify")
    assert report.startswith("audit chain ok"), report
    return report


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
    assert port > 1024
    return port


@dataclass(slots=True)
class Server:
    """One `titrate serve` process group; its output goes to files under `log_dir`."""

    env: dict[str, str]
    log_dir: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        assert self.process is None, "already running"
        self.starts += 1
        stdout = (self.log_dir / f"server-{self.port}-{self.starts}.out").open("wb")
        stderr = (self.log_dir / f"server-{self.port}-{self.starts}.err").open("wb")
        command = [TITRATE, "serve", "--host", LOOPBACK, "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--workers", str(self.workers)],
            env=self.env,
            cwd=PROJECT_ROOT,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        stdout.close()
        stderr.close()

    def wait_ready(self, timeout_s: float = 90.0) -> float:
        """Seconds from now until /healthz answers 200 (fails after `timeout_s`)."""
        started = time.monotonic()
        deadline = started + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            assert self.process.poll() is None, f"exited early:\n{self.stderr_text()[-3000:]}"
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server not ready in {timeout_s} s:\n{self.stderr_text()[-3000:]}")

    def start_and_wait(self, timeout_s: float = 90.0) -> float:
        """Seconds from spawning the process until it answers /healthz."""
        started = time.monotonic()
        self.start()
        self.wait_ready(timeout_s)
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL the whole process group: every worker dies at the same instant."""
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """A graceful stop (SIGTERM to the group), SIGKILL if it lingers."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def stderr_text(self) -> str:
        """Everything every start of this server wrote to standard error."""
        logs = sorted(self.log_dir.glob(f"server-{self.port}-*.err"))
        return "".join(path.read_text(errors="replace") for path in logs)


@dataclass(frozen=True, slots=True)
class Stack:
    """A migrated database of its own, a token for it, and servers on it (killed at the end)."""

    database: Database
    env: dict[str, str]
    token: str
    servers: list[Server]

    @property
    def server(self) -> Server:
        return self.servers[0]


@contextmanager
def running_stack(
    tmp_dir: Path, *, instances: int = 1, workers: int = 1, start: bool = True
) -> Iterator[Stack]:
    """Database, migration, token, then `instances` servers on that one database.

    However the block ends, every server's process group is killed and a PostgreSQL
    database is dropped.
    """
    database = create_database(tmp_dir)
    servers: list[Server] = []
    try:
        env = server_env(database)
        migrate(env)
        token = create_token(env)
        servers = [Server(env=env, log_dir=tmp_dir, workers=workers) for _ in range(instances)]
        for server in servers if start else ():
            server.start()
        for server in servers if start else ():
            server.wait_ready()
        yield Stack(database, env, token, servers)
    finally:
        for server in servers:
            server.kill()
        drop_database(database)
