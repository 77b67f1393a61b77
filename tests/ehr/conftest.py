"""Fixtures for the EHR tests: a real FHIR server (Medplum) seeded with made-up patients,
and an app whose settings name it as the EHR "ward"."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.ehr.connections import EhrConnection
from app.main import create_app
from tests.conftest import TEST_SECRET
from tests.ehr.servers import node_server

MRN_SYSTEM = "urn:oid:1.2.36.146.595.217.0.1"
LOINC = "http://loinc.org"


@pytest.fixture(scope="session")
def fhir_base() -> Iterator[str]:
    with node_server("fhir_server.cjs") as port:
        yield f"http://127.0.0.1:{port}/fhir"


class FhirSeeder:
    """Writes made-up resources to the FHIR server through its own REST API."""

    def __init__(self, base: str) -> None:
        self.base = base

    def create(self, resource: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{self.base}/{resource['resourceType']}",
            json=resource,
            headers={"Content-Type": "application/fhir+json"},
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def patient(
        self,
        mrn: str,
        *,
        given: str = "Ada",
        family: str = "Example",
        birth_date: str = "1960-04-02",
        gender: str = "female",
    ) -> dict[str, Any]:
        return self.create(
            {
                "resourceType": "Patient",
                "identifier": [{"system": MRN_SYSTEM, "value": mrn}],
                "name": [{"use": "official", "family": family, "given": [given]}],
                "birthDate": birth_date,
                "gender": gender,
            }
        )

    def observation(self, patient_id: str, code: str, value: Any, unit: str, when: str,
                    *, status: str = "final") -> dict[str, Any]:  # fmt: skip
        return self.create(
            {
                "resourceType": "Observation",
                "status": status,
                "code": {"coding": [{"system": LOINC, "code": code}]},
                "subject": {"reference": f"Patient/{patient_id}"},
                "effectiveDateTime": when,
                "valueQuantity": {
                    "value": value,
                    "unit": unit,
                    "system": "http://unitsofmeasure.org",
                    "code": unit,
                },
            }
        )

    def medication(self, patient_id: str, text: str | None, *, kind: str = "MedicationRequest",
                   status: str = "active") -> dict[str, Any]:  # fmt: skip
        resource: dict[str, Any] = {
            "resourceType": kind,
            "status": status,
            "subject": {"reference": f"Patient/{patient_id}"},
            "medicationCodeableConcept": {"text": text} if text else {"coding": []},
        }
        if kind == "MedicationRequest":
            resource["intent"] = "order"
        return self.create(resource)


@pytest.fixture
def fhir(fhir_base: str) -> FhirSeeder:
    return FhirSeeder(fhir_base)


@pytest.fixture(scope="session")
def ward(fhir_base: str) -> EhrConnection:
    return EhrConnection(
        id="ward",
        issuer=fhir_base,
        fhir_base=fhir_base,
        mrn_system=MRN_SYSTEM,
        users={"Practitioner/pr-1": "paula.prescriber"},
        default_username="paula.prescriber",
    )


@pytest.fixture
def ehr_settings_factory(database_url: str) -> Callable[..., Settings]:
    def make(*connections: EhrConnection, **extra: Any) -> Settings:
        return Settings(
            environment="test",
            database_url=database_url,
            secret_key=TEST_SECRET,
            ehrs=list(connections),
            **extra,
        )

    return make


@pytest.fixture
def ehr_settings(ehr_settings_factory: Callable[..., Settings], ward: EhrConnection) -> Settings:
    return ehr_settings_factory(ward, public_url="http://testserver")


@pytest.fixture
def app(
    ehr_settings: Settings, session_factory: sessionmaker[Session], db_connection: Connection
) -> FastAPI:
    application = create_app(ehr_settings)
    application.state.test_session_factory = session_factory
    return application


@pytest.fixture
def client(app: FastAPI, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        app.state.sessionmaker = session_factory
        yield test_client
