"""Start the real third-party servers the EHR tests talk to (node scripts in this folder)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
START_TIMEOUT_SECONDS = 60


def _node_flags() -> list[str]:
    # Medplum 5 expects a global WebSocket; node 20 has it behind a flag, 22+ by default.
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
    major = int(version.stdout.strip().lstrip("v").split(".")[0])
    return ["--experimental-websocket"] if major < 22 else []


@contextmanager
def node_server(script: str, *args: str, env: dict[str, str] | None = None) -> Iterator[int]:
    """Run `node script args…` until it prints "listening PORT"; yield the port; stop it."""
    if shutil.which("node") is None or not (ROOT / "node_modules" / "@medplum").is_dir():
        pytest.fail("node and `make setup` (npm ci) are needed for the EHR tests")
    process = subprocess.Popen(
        ["node", *_node_flags(), str(HERE / script), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    drain: threading.Thread | None = None
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:
            seen.append(line)
            match = re.match(r"listening (\d+)", line)
            if match:
                # Keep reading what it prints, so a full pipe never blocks the server.
                drain = threading.Thread(target=process.stdout.read, daemon=True)
                drain.start()
                yield int(match.group(1))
                break
        else:
            pytest.fail(f"{script} did not start: {''.join(seen)[-2000:]}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if drain is not None:
            drain.join(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
