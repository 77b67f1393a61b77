"""Fixtures for the EHR tests: a real FHIR server (Medplum) seeded with made-up patients,
and an app whose settings name it as the EHR "ward"."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
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

    def observation(
        self, patient_id: str, code: str, value: Any, unit: str, when: str, *, status: str = "final"
    ) -> dict[str, Any]:
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

    def medication(
        self,
        patient_id: str,
        text: str | None,
        *,
        kind: str = "MedicationRequest",
        status: str = "active",
    ) -> dict[str, Any]:
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


class Jwks:
    """The EHR's signing keys: RS384 and ES384 ones published at `url` (a JWKS document
    served over HTTP by the test), and one of each that is not published."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP384R1())
        self.stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.url = ""

    def document(self) -> bytes:
        keys = []
        for kid, key, algorithm in (("rsa-1", self.rsa, "RS384"), ("ec-1", self.ec, "ES384")):
            jwk = json.loads(jwt.get_algorithm_by_name(algorithm).to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": algorithm, "use": "sig"})
        return json.dumps({"keys": keys}).encode()


@pytest.fixture(scope="session")
def jwks() -> Iterator[Jwks]:
    keys = Jwks()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = keys.document()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    keys.url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    yield keys
    server.shutdown()
    server.server_close()
    thread.join()


EHR_ISSUER = "https://ehr.example.invalid/cds-client"


@pytest.fixture(scope="session")
def ward(fhir_base: str, jwks: Jwks) -> EhrConnection:
    return EhrConnection(
        id="ward",
        issuer=EHR_ISSUER,
        jwks_url=jwks.url,
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
