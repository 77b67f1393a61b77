"""SMART App Launch 2 (EHR launch with PKCE) in Chromium, against a real OpenID provider
(`oidc-provider` from npm) and the real FHIR server (Medplum): the EHR opens Titrate with a
launch id, the EHR user signs in at the authorisation server, and Titrate ends on the planner
for the patient in context, logged in as the Titrate user the EHR user is mapped to."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from app.config import Settings
from app.db.models import AuditEventRecord, PatientRecord
from app.ehr.connections import EhrConnection
from app.main import create_app
from tests.browser.conftest import _free_port
from tests.ehr.conftest import FhirSeeder
from tests.ehr.servers import node_server

LaunchServers = Callable[[dict[str, str]], AbstractContextManager[tuple[str, str]]]


@contextmanager
def _serve(settings: Settings) -> Iterator[None]:
    port = int(settings.public_url.rsplit(":", 1)[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("Titrate did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def launch_servers(
    migrated_engine: Engine,
    database_url: str,
    ward: EhrConnection,
    ehr_settings_factory: Callable[..., Settings],
) -> LaunchServers:
    """Starts the authorisation server (knowing these launches) and Titrate configured for it;
    yields (Titrate's URL, the FHIR base the EHR names as `iss`)."""

    @contextmanager
    def start(launches: dict[str, str]) -> Iterator[tuple[str, str]]:
        titrate = f"http://127.0.0.1:{_free_port()}"
        env = {
            "SMART_LAUNCHES": json.dumps(launches),
            "TITRATE_REDIRECT_URI": f"{titrate}/smart/callback",
        }
        with node_server("auth_server.mjs", env=env) as auth_port:
            auth = f"http://127.0.0.1:{auth_port}"
            connection = ward.model_copy(
                update={
                    "client_id": "titrate",
                    "authorize_url": f"{auth}/auth",
                    "token_url": f"{auth}/token",
                }
            )
            with _serve(ehr_settings_factory(connection, public_url=titrate)):
                yield titrate, connection.fhir_base

    return start


def _sign_in_at_the_ehr(page: Page, ehr_user: str) -> None:
    page.locator("input[name=login]").fill(ehr_user)
    page.locator("input[name=password]").fill("any")
    page.get_by_role("button", name="Sign-in").click()


def test_an_ehr_launch_ends_on_the_planner_for_the_patient_in_context(
    browser: Browser,
    fhir: FhirSeeder,
    launch_servers: LaunchServers,
    migrated_engine: Engine,
) -> None:
    mrn = f"S{uuid.uuid4().hex[:8].upper()}"
    family = f"Launch{uuid.uuid4().hex[:6]}"
    pid = fhir.patient(mrn, given="Rosalind", family=family, birth_date="1971-07-25")["id"]
    fhir.observation(pid, "29463-7", 64, "kg", "2026-11-30")
    fhir.patient(f"O{uuid.uuid4().hex[:8].upper()}", family="Someone-Else")
    launch = f"launch-{uuid.uuid4().hex}"

    with launch_servers({launch: pid}) as (titrate, iss):
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{titrate}/smart/launch?iss={iss}&launch={launch}")
        _sign_in_at_the_ehr(page, "Practitioner/pr-1")

        expect(page).to_have_url(re.compile(r"/patients/\d+/plans/new$"))
        expect(page.locator("body")).to_contain_text(family)
        patient_id = int(re.findall(r"/patients/(\d+)/plans/new", page.url)[0])
        context.close()

    with sessionmaker(bind=migrated_engine)() as session:
        record = session.get(PatientRecord, patient_id)
        assert record is not None
        assert (record.mrn, record.family_name, record.weight_kg) == (mrn, family, 64)
        login = session.scalars(
            select(AuditEventRecord)
            .where(AuditEventRecord.action == "login.success")
            .order_by(AuditEventRecord.id.desc())
        ).first()
        assert login is not None
        assert login.actor_name == "paula.prescriber"
        assert login.detail == {"method": "smart", "ehr": "ward", "patient": patient_id}


def test_an_ehr_user_who_is_not_mapped_gets_no_session(
    browser: Browser,
    fhir: FhirSeeder,
    launch_servers: LaunchServers,
) -> None:
    pid = fhir.patient(f"U{uuid.uuid4().hex[:8].upper()}")["id"]
    with launch_servers({"L-unmapped": pid}) as (titrate, iss):
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{titrate}/smart/launch?iss={iss}&launch=L-unmapped")
        _sign_in_at_the_ehr(page, "Practitioner/stranger")
        expect(page.get_by_role("alert")).to_contain_text("not a Titrate clinician")
        page.goto(f"{titrate}/patients")
        expect(page).to_have_url(re.compile(r"/login$"))
        # A callback that did not start here is refused.
        page.goto(f"{titrate}/smart/callback?code=x&state=y")
        expect(page.get_by_role("alert")).to_contain_text("did not start here")
        context.close()


def test_an_unknown_iss_is_refused(client: Any) -> None:
    response = client.get(
        "/smart/launch", params={"iss": "https://elsewhere.invalid/fhir", "launch": "x"}
    )
    assert response.status_code == 400
