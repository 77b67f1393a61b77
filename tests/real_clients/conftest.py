"""The real-client stage (marker `real_clients`): our exports read by software we did not write.

One live `titrate serve` (SQLite of its own, whatever TEST_DATABASE_URL says: the stage does
not depend on the database, so `make test` runs it once, in the SQLite run) serves every
test here over HTTP, as an integrator's system would call it. The clients come from the
registries and are pinned: ical.js and Medplum (package.json), Radicale and
openapi-python-client (requirements.lock).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.exports.conftest import RECORD_ONLY, SCENARIOS, START
from tests.factories.patients import patient_payload
from tests.resilience.servers import PROJECT_ROOT, running_stack

NODE_TIMEOUT_S = 120


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "real_clients" in str(item.path):
            item.add_marker(pytest.mark.real_clients)


@dataclass(frozen=True)
class Live:
    base_url: str
    token: str

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("real-clients")
    saved = os.environ.pop("TEST_DATABASE_URL", None)  # a SQLite file of its own
    try:
        with running_stack(tmp) as stack:
            yield Live(stack.server.base_url, stack.token)
    finally:
        if saved is not None:
            os.environ["TEST_DATABASE_URL"] = saved


def store(client: httpx.Client, scenario: str, **plan_changes: Any) -> tuple[int, dict[str, Any]]:
    """A patient and plan version 1, made through the API; (plan id, patient payload)."""
    facts, body = SCENARIOS[scenario]
    payload = patient_payload(**facts)
    patient = client.post("/api/v1/patients", json=payload)
    assert patient.status_code == 201, patient.text
    body = {**body, "start_date": START, **plan_changes}
    preview_patient = {k: v for k, v in payload.items() if k not in RECORD_ONLY}
    preview = client.post("/api/v1/plans/preview", json={**body, "patient": preview_patient})
    assert preview.status_code == 200, preview.text
    majors = [f["code"] for f in preview.json()["findings"] if f["severity"] == "major"]
    created = client.post(
        f"/api/v1/patients/{patient.json()['id']}/plans", json={**body, "acknowledged": majors}
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"]), payload


def revise(client: httpx.Client, plan_id: int, **changes: Any) -> None:
    """Version 2 of an adult oral titration: stops at 45 instead of 60 mg/day."""
    body = {
        "plan_type": "oral_titration", "indication": "multiple_sclerosis",
        "start_date": START, "target_daily_dose": {"value": 45, "unit": "mg"},
        "reason": "drowsy at 45 mg/day", **changes,
    }  # fmt: skip
    revised = client.post(f"/api/v1/plans/{plan_id}/versions", json=body,
                          headers={"If-Match": '"1"'})  # fmt: skip
    assert revised.status_code == 201, revised.text


def run_node(script: str, payload: Any) -> Any:
    """Runs tests/real_clients/<script> with node; JSON in on stdin, JSON out on stdout."""
    node = shutil.which("node")
    assert node, "node is needed for the real-client stage (make setup installs the packages)"
    done = subprocess.run(
        [node, "--experimental-websocket", str(Path(__file__).with_name(script))],
        input=json.dumps(payload).encode(),
        capture_output=True,
        cwd=PROJECT_ROOT,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-4000:]
    return json.loads(done.stdout)
