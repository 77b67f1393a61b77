"""Dependencies of the JSON surface: database session and bearer-token clients with scopes."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.domain.titration.library import ProtocolSet
from app.refusals import AuditedRefusal
from app.services import auth as auth_service
from app.services import token_cache
from app.services.context import Actor
from app.services.errors import AuthenticationFailed
from app.services.permissions import Refused


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="titrate"'}
# Declared through FastAPI's security scheme so that OpenAPI says every route needs a bearer
# token (clients and Schemathesis' ignored_auth check read it); the scope check stays ours.
_bearer_scheme = HTTPBearer(
    auto_error=False, description="An API token (`tt_…`); each operation needs one scope."
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_scheme)]


def require_scope(scope: str, *alternatives: str) -> Callable[..., Awaitable[Actor]]:
    """A dependency that admits only a valid token carrying `scope`, or one of
    `alternatives` (cookies never count). A route takes alternatives only where API.md says
    so (the protocol reads of §5.6: `protocols:write` or `plans:preview`).

    Async, so that a token verified in the last few seconds (services.token_cache) costs no
    hop to a worker thread; only a lookup in the database goes to one, with its own session
    and its own short read transaction."""

    async def _client(request: Request, credentials: BearerCredentials) -> Actor:
        token = credentials.credentials.strip() if credentials else ""
        if not token:
            raise HTTPException(401, "A bearer token is required.", headers=_BEARER_CHALLENGE)
        client = token_cache.lookup(token)
        if client is None:
            try:
                client = await run_in_threadpool(_verify, request, token)
            except AuthenticationFailed as exc:
                # Audited (app/refusals.py): guessed or stolen-and-revoked tokens show in the
                # trail.
                raise AuditedRefusal(
                    401, str(exc), reason="bad_token", headers=_BEARER_CHALLENGE
                ) from exc
        actor = dataclasses.replace(
            client,
            request_id=request.scope.get("state", {}).get("request_id"),
            client_ip=request.client.host if request.client else None,
        )
        # Per-token rate limit (app/request_limits.py), after the token is known to be valid.
        request.app.state.token_limiter.check(actor)
        if not any(accepted in client.scopes for accepted in accepted_scopes):
            # Refused (403) and audited like any other refusal (app/errors.py).
            wanted = " or ".join(accepted_scopes)
            raise Refused(actor, f"This token lacks the scope {wanted}.", scope=wanted)
        return actor

    accepted_scopes = (scope, *alternatives)
    # Read by the route-inventory and access-document tests.
    _client.required_scopes = accepted_scopes  # type: ignore[attr-defined]
    return _client


def _verify(request: Request, token: str) -> Actor:
    with request.app.state.sessionmaker() as session:
        return auth_service.authenticate_token(session, token=token)


PatientsReader = Annotated[Actor, Depends(require_scope("patients:read"))]
PatientsWriter = Annotated[Actor, Depends(require_scope("patients:write"))]
PlansReader = Annotated[Actor, Depends(require_scope("plans:read"))]
PlansWriter = Annotated[Actor, Depends(require_scope("plans:write"))]
PlansPreviewer = Annotated[Actor, Depends(require_scope("plans:preview"))]
PlansReviewer = Annotated[Actor, Depends(require_scope("plans:review"))]


async def get_protocols(request: Request) -> ProtocolSet:  # async: no thread hop for a read
    protocols: ProtocolSet = request.app.state.protocols
    return protocols


ProtocolsDep = Annotated[ProtocolSet, Depends(get_protocols)]


# Optimistic concurrency: the ETag of a record is its version number.
IfMatch = Annotated[
    str | None,
    Header(description='The ETag of the version being changed, e.g. `"3"`. Required.'),
]


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int:
    if value is None or not value.strip():
        raise HTTPException(428, "Send If-Match with the ETag of the version you are changing.")
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise HTTPException(412, "If-Match does not name a version of this record.")
    return int(tag)
