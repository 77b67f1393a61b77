"""openapi-python-client (PyPI 0.29.1) generates a client from the live /openapi.json; the
generated package and a round trip written against it pass mypy --strict, and the round trip
(create, preview, store, revise with If-Match, a stale If-Match answered with a Problem)
runs against the live server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.real_clients.conftest import Live

BIN = Path(sys.executable).parent
ROUNDTRIP = Path(__file__).with_name("openapi_roundtrip.py")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600, check=False)  # fmt: skip


def test_a_generated_client_type_checks_and_does_the_round_trip(live: Live, tmp_path: Path) -> None:
    document = httpx.get(f"{live.base_url}/openapi.json", timeout=30).json()
    (tmp_path / "openapi.json").write_text(json.dumps(document))
    generated = _run(
        [str(BIN / "openapi-python-client"), "generate", "--path", "openapi.json",
         "--meta", "none", "--output-path", "titrate_client"],
        tmp_path,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    package = tmp_path / "titrate_client"
    models = list((package / "models").glob("*.py"))
    problem_models = [m.name for m in models if "problem" in m.name or "validation" in m.name]
    assert sorted(problem_models) == ["problem.py", "problem_error.py"], "one Problem model"
    shutil.copy(ROUNDTRIP, tmp_path / "openapi_roundtrip.py")
    # The generator's fixed client.py template (the same for every API, not made from our
    # document) passes *args to httpx's __exit__, which mypy 1.x flags as arg-type; that one
    # code in that one module is excused, everything generated from the schema is strict.
    (tmp_path / "mypy.ini").write_text(
        "[mypy]\nstrict = True\n\n[mypy-titrate_client.client]\ndisable_error_code = arg-type\n"
    )
    checked = _run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--config-file=mypy.ini",
         "titrate_client", "openapi_roundtrip.py"],
        tmp_path,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = _run([sys.executable, "openapi_roundtrip.py", live.base_url, live.token], tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["location"].endswith("/api/v1/patients/" + summary["location"].rsplit("/", 1)[1])
    assert (summary["stored_version"], summary["revised_version"]) == (1, 2)
    assert summary["stale_status"] == 412
    assert summary["revised_last_daily"] == 45
    assert isinstance(summary["first_dose"], int | float), "doses are numbers, not strings"
