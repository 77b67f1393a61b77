"""System import with SMART Backend Services: Titrate signs a JWT assertion (RS384) and gets
a client_credentials token from a real authorisation server (`oidc-provider`), then reads the
FHIR server with it. A key the server does not know gets no token, so nothing is imported."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.ehr import smart
from app.ehr.connections import EhrConnection
from tests.ehr.conftest import FhirSeeder
from tests.ehr.servers import node_server


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def backend_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def token_url(backend_key: rsa.RSAPrivateKey) -> Iterator[str]:
    public = json.loads(jwt.get_algorithm_by_name("RS384").to_jwk(backend_key.public_key()))
    jwks = {"keys": [{**public, "kid": "backend-1", "alg": "RS384", "use": "sig"}]}
    env = {"BACKEND_JWKS": json.dumps(jwks), "TITRATE_REDIRECT_URI": "http://127.0.0.1:9/cb"}
    with node_server("auth_server.mjs", env=env) as port:
        yield f"http://127.0.0.1:{port}/token"


def _backend(ward: EhrConnection, token_url: str, key: rsa.RSAPrivateKey) -> EhrConnection:
    return ward.model_copy(
        update={
            "backend_client_id": "titrate-backend",
            "backend_private_key_pem": _pem(key),
            "backend_key_id": "backend-1",
            "authorize_url": token_url.replace("/token", "/auth"),
            "token_url": token_url,
        }
    )


def test_the_signed_assertion_gets_a_system_token(
    ward: EhrConnection, token_url: str, backend_key: rsa.RSAPrivateKey
) -> None:
    token = smart.backend_access_token(_backend(ward, token_url, backend_key))
    assert token


def test_a_system_import_through_backend_services(
    client: TestClient,
    app: FastAPI,
    fhir: FhirSeeder,
    ward: EhrConnection,
    token_url: str,
    backend_key: rsa.RSAPrivateKey,
    auth_headers_factory: Any,
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"ehrs": [_backend(ward, token_url, backend_key)]}
    )
    mrn = f"B{uuid.uuid4().hex[:8].upper()}"
    fhir.patient(mrn, family="Backend")
    response = client.post(
        "/api/v1/patients/import",
        json={"ehr": "ward", "identifier": {"value": mrn}},
        headers=auth_headers_factory("patients:write"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["patient"]["family_name"] == "Backend"


def test_an_unknown_key_gets_no_token_and_imports_nothing(
    client: TestClient,
    app: FastAPI,
    fhir: FhirSeeder,
    ward: EhrConnection,
    token_url: str,
    auth_headers_factory: Any,
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app.state.settings = app.state.settings.model_copy(
        update={"ehrs": [_backend(ward, token_url, stranger)]}
    )
    mrn = f"B{uuid.uuid4().hex[:8].upper()}"
    fhir.patient(mrn)
    response = client.post(
        "/api/v1/patients/import",
        json={"ehr": "ward", "identifier": {"value": mrn}},
        headers=auth_headers_factory("patients:write"),
    )
    assert response.status_code == 502
    assert "refused" in response.json()["detail"] or "answered" in response.json()["detail"]
