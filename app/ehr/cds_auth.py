"""Who is calling a CDS service: the EHR's signed JWT (CDS Hooks 2.0, "Trusting CDS Clients").

The token must be signed RS384 or ES384 by a key from the JWKS URL configured for its issuer,
name our service endpoint as `aud`, and carry `exp`, `iat` and a `jti` not seen before
(replays are refused while the token is valid). Anything else is refused (401).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import jwt

from app.ehr.connections import EhrConnection

ALGORITHMS = ["RS384", "ES384"]
LEEWAY_SECONDS = 30
JWKS_CACHE_SECONDS = 300
JWKS_TIMEOUT_SECONDS = 10


class CdsAuthError(Exception):
    """The call is not from a configured EHR (the message says why, never the token)."""


class _SeenTokens:
    """jti values until their token expires. Per process: with several workers a replay to
    another worker within the token's lifetime (5 minutes in practice) is not caught."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], float] = {}

    def first_use(self, issuer: str, jti: str, expires: float) -> bool:
        now = time.time()
        with self._lock:
            self._seen = {key: exp for key, exp in self._seen.items() if exp > now}
            if (issuer, jti) in self._seen:
                return False
            self._seen[(issuer, jti)] = expires + LEEWAY_SECONDS
            return True


_SEEN = _SeenTokens()
_JWKS: dict[str, jwt.PyJWKClient] = {}
_JWKS_LOCK = threading.Lock()


def _jwks_client(url: str) -> jwt.PyJWKClient:
    with _JWKS_LOCK:
        if url not in _JWKS:
            _JWKS[url] = jwt.PyJWKClient(
                url, cache_keys=True, lifespan=JWKS_CACHE_SECONDS, timeout=JWKS_TIMEOUT_SECONDS
            )
        return _JWKS[url]


def verify_cds_jwt(
    authorization: str | None, *, connections: Sequence[EhrConnection], audience: list[str]
) -> EhrConnection:
    """The EHR that signed this `Authorization: Bearer <jwt>`, or CdsAuthError."""
    if not authorization or not authorization.startswith("Bearer "):
        raise CdsAuthError("a bearer JWT is required")
    token = authorization.removeprefix("Bearer ").strip()
    try:
        header = jwt.get_unverified_header(token)
        unverified: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise CdsAuthError("the token is not a JWT") from exc
    if header.get("alg") not in ALGORITHMS:
        raise CdsAuthError("the token is not signed RS384 or ES384")
    issuer = unverified.get("iss")
    connection = next((c for c in connections if c.issuer == issuer and c.jwks_url), None)
    if connection is None:
        raise CdsAuthError("the token's issuer is not a configured EHR")
    try:
        key = _jwks_client(connection.jwks_url).get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            audience=audience,
            issuer=connection.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.PyJWKClientError as exc:
        raise CdsAuthError("no key of the EHR's JWKS verifies the token") from exc
    except jwt.PyJWTError as exc:
        raise CdsAuthError(f"the token was refused ({type(exc).__name__})") from exc
    if not _SEEN.first_use(connection.issuer, str(claims["jti"]), float(claims["exp"])):
        raise CdsAuthError("the token was already used (jti)")
    return connection
