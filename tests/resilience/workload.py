"""Writers for the resilience tests: made-up patients and plans sent through the real API.

A write counts as acknowledged only once a 2xx has arrived; it then goes into an fsync'd JSONL
journal, so the journal survives whatever happens to the server. A write whose answer never
came (connection dropped by a kill) is "unknown": it may or may not be in the database, and
it is retried later with the same Idempotency-Key (plans) or the same If-Match (revisions).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REQUEST_TIMEOUT_S = 15.0


def patient_body() -> dict[str, Any]:
    """A made-up adult on oxycodone (a major finding, so plans carry an acknowledgement)."""
    tag = uuid.uuid4().hex[:12]
    return {
        "mrn": f"RES-{tag}",
        "given_name": "Testa",
        "family_name": f"Resilient{tag}",
        "birth_date": "1981-05-02",
        "sex": "male",
        "weight_kg": 80,
        "height_cm": 180,
        "serum_creatinine": {"value": 0.9, "unit": "mg/dL", "measured_on": "2026-11-01"},
        "medications": ["oxycodone"],
        "preferred_language": "en",
    }


def plan_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plan_type": "oral_titration",
        "start_date": "2026-12-01",
        "indication": "multiple_sclerosis",
        "setting": "outpatient",
        "target_daily_dose": {"value": 60, "unit": "mg"},
        "acknowledged": ["opioid"],
    }
    body.update(overrides)
    return body


def revision_body(target_mg: int = 45) -> dict[str, Any]:
    return plan_body(target_daily_dose={"value": target_mg, "unit": "mg"}, reason="slower pace")


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Api:
    """The handful of API calls the writers make, over one keep-alive connection."""

    def __init__(self, base_url: str, token: str) -> None:
        self.client = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=REQUEST_TIMEOUT_S,
        )

    def close(self) -> None:
        self.client.close()

    def create_patient(self, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.client.post("/api/v1/patients", json=body or patient_body())

    def patch_patient(self, patient_id: int, changes: dict[str, Any], etag: str) -> httpx.Response:
        headers = {"If-Match": etag}
        return self.client.patch(f"/api/v1/patients/{patient_id}", json=changes, headers=headers)

    def show_patient(self, patient_id: int) -> httpx.Response:
        return self.client.get(f"/api/v1/patients/{patient_id}")

    def create_plan(self, patient_id: int, body: bytes, key: str) -> httpx.Response:
        headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
        url = f"/api/v1/patients/{patient_id}/plans"
        return self.client.post(url, content=body, headers=headers)

    def revise_plan(self, plan_id: int, body: bytes, etag: str) -> httpx.Response:
        headers = {"If-Match": etag, "Content-Type": "application/json"}
        return self.client.post(f"/api/v1/plans/{plan_id}/versions", content=body, headers=headers)

    def show_plan(self, plan_id: int) -> httpx.Response:
        return self.client.get(f"/api/v1/plans/{plan_id}")


class Journal:
    """Append-only JSONL of acknowledged writes; every line is fsync'd before it counts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file = path.open("a", encoding="utf-8")

    def append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._file.write(json.dumps(entry, sort_keys=True) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            text = self.path.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line]

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True, slots=True)
class Unknown:
    """A write that was sent but never answered."""

    kind: str  # "plan" | "revision"
    patient_id: int
    body: bytes
    key: str = ""
    plan_id: int = 0


@dataclass(slots=True)
class WriterLog:
    statuses: Counter[int] = field(default_factory=Counter)
    unknown: list[Unknown] = field(default_factory=list)
    transport_errors: int = 0


def plan_entry(key: str, body: bytes, response: httpx.Response) -> dict[str, Any]:
    plan = response.json()
    return {
        "kind": "plan",
        "key": key,
        "plan_id": plan["id"],
        # An Idempotency-Key is bound to the path and the exact body (trust round two).
        "request_sha256": sha256(response.request.url.path.encode() + b"\n" + body),
        "version": plan["version"],
        "content_sha256": plan["content_sha256"],
    }


def revision_entry(response: httpx.Response) -> dict[str, Any]:
    plan = response.json()
    return {
        "kind": "revision",
        "plan_id": plan["id"],
        "version": plan["version"],
        "content_sha256": plan["content_sha256"],
    }


def write_until_stopped(
    stop: threading.Event, api: Api, journal: Journal, log: WriterLog, rng: random.Random
) -> None:
    """Patient, then a plan with a fresh Idempotency-Key, sometimes a revision; repeat.

    Returns at the first transport error (the server is gone) or when `stop` is set.
    """
    while not stop.is_set():
        try:
            _write_one_round(api, journal, log, rng)
        except httpx.TransportError:
            log.transport_errors += 1
            return


def _write_one_round(api: Api, journal: Journal, log: WriterLog, rng: random.Random) -> None:
    created = api.create_patient()
    log.statuses[created.status_code] += 1
    if created.status_code != 201:
        return
    patient_id = created.json()["id"]
    journal.append({"kind": "patient", "patient_id": patient_id, "version": 1})
    key, body = f"crash-{uuid.uuid4()}", encode(plan_body())
    try:
        response = api.create_plan(patient_id, body, key)
    except httpx.TransportError:
        log.unknown.append(Unknown("plan", patient_id, body, key=key))
        raise
    log.statuses[response.status_code] += 1
    if response.status_code != 201:
        return
    journal.append(plan_entry(key, body, response))
    if rng.random() < 1 / 3:
        plan_id, revision = response.json()["id"], encode(revision_body())
        try:
            revised = api.revise_plan(plan_id, revision, '"1"')
        except httpx.TransportError:
            log.unknown.append(Unknown("revision", patient_id, revision, plan_id=plan_id))
            raise
        log.statuses[revised.status_code] += 1
        if revised.status_code == 201:
            journal.append(revision_entry(revised))
