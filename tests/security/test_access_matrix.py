"""Every route × every role (web) or scope (API) × own clinic / other clinic / missing record.

Expectations come from ACCESS.md (parsed, and itself checked against the code): a role or
scope that may not do the route's operation gets 403 whatever the record; one that may gets
no 401/403/404 for its own clinic's record, and 404 for another clinic's and for a missing
one (RELIABILITY S2, recipe R1). A route missing from ACCESS.md fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import ApiTokenRecord, AuditEventRecord
from app.services.permissions import CARRIES_IDENTITY, OPERATIONS, SCOPE_OPERATIONS
from tests.factories.access import EHR_ROUTES, PUBLIC, SIGNED_IN, read_access_document
from tests.factories.access_requests import (
    IF_MATCH,
    MISSING_ID,
    api_body,
    fill_path,
    web_form,
)
from tests.factories.clinics import (
    ClinicRecords,
    default_clinic_id,
    make_clinic,
    make_clinic_records,
    make_clinic_token,
    make_user,
)
from tests.factories.routes import iter_routes
from tests.factories.users import STANDARD_USERS
from tests.web.helpers import header_csrf, log_in

pytestmark = pytest.mark.access

DOCUMENT = read_access_document()
OWNED = ("patient_id", "plan_id")
# Requests that end what later probes need (a session, an open plan, an active patient) go last.
_CLOSING = ("/archive", "/discontinue", "/logout")


@dataclass(frozen=True, slots=True)
class Targets:
    own: ClinicRecords
    other: ClinicRecords
    user_id: int
    token_id: int

    def ids(self, target: str) -> dict[str, int | str]:
        records = {"own": self.own, "other": self.other}.get(target)
        # Protocols belong to no clinic: every target reads the seeded oral-adult protocol.
        ids = {"user_id": self.user_id, "token_id": self.token_id,
               "protocol_id": "oral-adult", "version": 1}  # fmt: skip
        if records is None:
            return ids | {"patient_id": MISSING_ID, "plan_id": MISSING_ID,
                          "observation_id": MISSING_ID}  # fmt: skip
        return ids | {"patient_id": records.patient_id, "plan_id": records.plan_id,
                      "observation_id": records.observation_id}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Probe:
    method: str
    path: str
    operation: str
    target: str  # own | other | missing
    url: str


@pytest.fixture
def targets(db: Session) -> Targets:
    own = make_clinic_records(db, default_clinic_id(db))
    other = make_clinic_records(db, make_clinic(db))
    # Admin routes act on these, never on the standard users the probes log in as.
    user_id = make_user(db, username="access.spare", role="viewer", clinic_id=own.clinic_id)
    make_clinic_token(db, own.clinic_id, "plans:read")
    token_id = db.scalars(select(ApiTokenRecord.id).order_by(ApiTokenRecord.id.desc())).first()
    assert token_id is not None
    return Targets(own, other, user_id, token_id)


def _probes(app: FastAPI, targets: Targets, *, api: bool) -> Iterator[Probe]:
    routes = [
        (method, path)
        for method, path, _ in iter_routes(app)
        if path.startswith("/api/") == api
        and DOCUMENT.routes.get((method, path)) != PUBLIC
        # The EHR's routes know no roles or scopes (tests/ehr covers their refusals).
        and DOCUMENT.routes.get((method, path)) not in EHR_ROUTES
    ]
    unmapped = [f"{m} {p}" for m, p in routes if (m, p) not in DOCUMENT.routes]
    assert unmapped == [], "routes without an operation in ACCESS.md"
    routes.sort(key=_closing_rank)
    for method, path in routes:
        owned = any(f"{{{name}}}" in path for name in OWNED)
        for target in ("own", "other", "missing") if owned else ("own",):
            url = fill_path(path, targets.ids(target))
            yield Probe(method, path, DOCUMENT.routes[(method, path)], target, url)


def _closing_rank(route: tuple[str, str]) -> int:
    return next((i + 1 for i, end in enumerate(_CLOSING) if route[1].endswith(end)), 0)


def _expected(probe: Probe, allowed: bool) -> str:
    if not allowed:
        return "403"
    return "allowed" if probe.target == "own" else "404"


def _observed(status: int) -> str:
    if status in (401, 403, 404):
        return str(status)
    return "allowed" if status < 500 else f"server error {status}"


@pytest.mark.parametrize("username", sorted(STANDARD_USERS))
def test_every_page_answers_each_role_as_access_md_says(
    client: TestClient, app: FastAPI, db: Session, targets: Targets, username: str
) -> None:
    role = STANDARD_USERS[username]
    assert log_in(client, username).status_code == 303
    csrf = {"X-CSRF-Token": _session_csrf(client)}
    mismatches, checked = [], 0
    for probe in _probes(app, targets, api=False):
        allowed = probe.operation == SIGNED_IN or (
            role in OPERATIONS[probe.operation]
            and (probe.operation not in CARRIES_IDENTITY or role in OPERATIONS["patient.read"])
        )
        form = web_form(probe.method, probe.path)
        response = client.request(
            probe.method, probe.url, data=form or None, headers=csrf if form is not None else {}
        )
        checked += 1
        expected, observed = _expected(probe, allowed), _observed(response.status_code)
        if expected != observed:
            mismatches.append(
                f"{probe.method} {probe.url} ({probe.target}): {expected} ≠ {observed}"
            )
    assert mismatches == []
    assert checked > 40


@pytest.mark.parametrize("scope", sorted(SCOPE_OPERATIONS))
def test_every_api_route_answers_each_scope_as_access_md_says(
    client: TestClient, app: FastAPI, db: Session, targets: Targets, scope: str
) -> None:
    headers = {"Authorization": f"Bearer {make_clinic_token(db, targets.own.clinic_id, scope)}"}
    mismatches, checked = [], 0
    for probe in _probes(app, targets, api=True):
        allowed = probe.operation in SCOPE_OPERATIONS[scope] and (
            # Documents that name the patient also need patient.read (ACCESS.md).
            probe.operation not in CARRIES_IDENTITY or "patient.read" in SCOPE_OPERATIONS[scope]
        )
        body = api_body(probe.method, probe.path)
        response = client.request(probe.method, probe.url, json=body, headers=headers | IF_MATCH)
        checked += 1
        expected, observed = _expected(probe, allowed), _observed(response.status_code)
        if expected != observed:
            mismatches.append(
                f"{probe.method} {probe.url} ({probe.target}): {expected} ≠ {observed}"
            )
        if observed == "403":
            assert response.headers["content-type"].startswith("application/problem+json")
    assert mismatches == []
    assert checked > 20


def test_probes_of_another_clinic_leave_no_trace_of_reading_its_patient(
    client: TestClient, app: FastAPI, db: Session, targets: Targets
) -> None:
    """A 404 for another clinic's record must not be a read that happened and was hidden."""
    headers = {"Authorization": f"Bearer {make_clinic_token(db, targets.own.clinic_id)}"}
    for probe in _probes(app, targets, api=True):
        if probe.target == "other":
            body = api_body(probe.method, probe.path)
            client.request(probe.method, probe.url, json=body, headers=headers | IF_MATCH)
    reads = db.scalars(
        select(AuditEventRecord.action).where(
            AuditEventRecord.patient_id == targets.other.patient_id,
            AuditEventRecord.actor_kind == "token",
        )
    ).all()
    assert reads == []


def _session_csrf(client: TestClient) -> str:
    # Any page carries the token; an admin has no patient list, so try the first that renders.
    for path in ("/patients", "/admin/users"):
        page = client.get(path)
        if page.status_code == 200:
            return header_csrf(page.text)
    raise AssertionError("no page to read the CSRF token from")
