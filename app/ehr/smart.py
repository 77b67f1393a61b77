"""SMART App Launch 2 (EHR launch with PKCE) and SMART Backend Services, client side.

The EHR launch: the EHR opens /smart/launch?iss=…&launch=…; we read its
`.well-known/smart-configuration`, send the browser to its authorize endpoint with PKCE
(S256) and the least scopes, and exchange the code for a token that names `patient` and
carries the user (`fhirUser` in the id_token). Backend Services: client_credentials with a
signed JWT assertion (RS384 or ES384), for system imports.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from app.ehr.connections import EhrConnection

TIMEOUT_SECONDS = 10.0
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 300
# The least an EHR launch needs: the launch context, the user's identity, and read/search
# of the patient's own record (SMART v2 `.rs` scopes).
LAUNCH_SCOPES = (
    "launch openid fhirUser "
    "patient/Patient.rs patient/Observation.rs "
    "patient/MedicationRequest.rs patient/MedicationStatement.rs"
)


class SmartError(Exception):
    """The authorisation server refused, or answered something unusable."""


@dataclass(frozen=True, slots=True)
class Pkce:
    verifier: str
    challenge: str


@dataclass(frozen=True, slots=True)
class LaunchToken:
    access_token: str
    patient: str
    fhir_user: str | None


def new_pkce() -> Pkce:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


def endpoints(connection: EhrConnection) -> tuple[str, str]:
    """authorize and token endpoints: configured, else from the SMART configuration."""
    if connection.authorize_url and connection.token_url:
        return connection.authorize_url, connection.token_url
    document = _get_json(f"{connection.fhir_base.rstrip('/')}/.well-known/smart-configuration")
    authorize, token = document.get("authorization_endpoint"), document.get("token_endpoint")
    if not isinstance(authorize, str) or not isinstance(token, str):
        raise SmartError("the SMART configuration names no authorize and token endpoints")
    return authorize, token


def authorize_url(
    connection: EhrConnection,
    *,
    authorize: str,
    redirect_uri: str,
    launch: str,
    state: str,
    pkce: Pkce,
) -> str:
    query = {
        "response_type": "code",
        "client_id": connection.client_id,
        "redirect_uri": redirect_uri,
        "launch": launch,
        "scope": LAUNCH_SCOPES,
        "state": state,
        "aud": connection.fhir_base,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    return f"{authorize}?{urlencode(query)}"


def exchange_code(
    connection: EhrConnection, *, token_url: str, code: str, redirect_uri: str, verifier: str
) -> LaunchToken:
    body = _post_form(
        token_url,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": connection.client_id,
            "code_verifier": verifier,
        },
    )
    access, patient = body.get("access_token"), body.get("patient")
    if not isinstance(access, str) or not isinstance(patient, str) or not patient:
        raise SmartError("the token response names no access token and patient")
    fhir_user = body.get("fhirUser")
    id_token = body.get("id_token")
    if not isinstance(fhir_user, str) and isinstance(id_token, str):
        # The id_token came straight from the token endpoint over TLS (OIDC Core 3.1.3.7:
        # its signature may then be skipped); its claims name the user.
        claims = jwt.decode(id_token, options={"verify_signature": False})
        fhir_user = claims.get("fhirUser")
    return LaunchToken(access, patient, fhir_user if isinstance(fhir_user, str) else None)


def backend_access_token(connection: EhrConnection) -> str | None:
    """A system token by SMART Backend Services; None when none is configured."""
    if not connection.backend_client_id:
        return None
    _, token_url = endpoints(connection)
    now = int(time.time())
    key = connection.backend_private_key_pem
    algorithm = "ES384" if "EC PRIVATE KEY" in key or _is_ec(key) else "RS384"
    assertion = jwt.encode(
        {
            "iss": connection.backend_client_id,
            "sub": connection.backend_client_id,
            "aud": token_url,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
            "iat": now,
            "jti": str(uuid.uuid4()),
        },
        key,
        algorithm=algorithm,
        headers={"kid": connection.backend_key_id} if connection.backend_key_id else None,
    )
    body = _post_form(
        token_url,
        {
            "grant_type": "client_credentials",
            "scope": connection.backend_scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )
    token = body.get("access_token")
    if not isinstance(token, str):
        raise SmartError("the token endpoint gave no access token")
    return token


def _is_ec(pem: str) -> bool:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return isinstance(
            load_pem_private_key(pem.encode(), password=None), ec.EllipticCurvePrivateKey
        )
    except ValueError as exc:
        raise SmartError("the configured backend key is not a PEM private key") from exc


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=TIMEOUT_SECONDS, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise SmartError(f"no answer from the EHR ({type(exc).__name__})") from exc
    return _json_body(response)


def _post_form(url: str, form: dict[str, str]) -> dict[str, Any]:
    try:
        response = httpx.post(url, data=form, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise SmartError(f"no answer from the token endpoint ({type(exc).__name__})") from exc
    return _json_body(response)


def _json_body(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise SmartError(f"the authorisation server answered {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise SmartError("the authorisation server answered something that is not JSON") from exc
    if not isinstance(body, dict):
        raise SmartError("the authorisation server answered something that is not an object")
    return body
