"""`GET /cds-services`, `POST /cds-services/{service_id}` and its `/feedback` (API.md §5.4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from app.ehr import cds as cds_documents
from app.ehr.cds import json_numbers
from app.ehr.cds_auth import CdsAuthError, verify_cds_jwt
from app.ehr.connections import EhrConnection
from app.services import cds as cds_service

router = APIRouter(prefix="/cds-services", include_in_schema=False)
MAX_BODY_BYTES = 1024 * 1024


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def cds_caller(request: Request, service_id: str) -> EhrConnection:
    """The EHR whose signed JWT came with this call; anything else is a 401."""
    settings = request.app.state.settings
    service_url = f"{settings.public_url.rstrip('/')}/cds-services/{service_id}"
    audience = (
        [service_url, f"{service_url}/feedback"]
        if request.url.path.endswith("/feedback")
        else [service_url]
    )
    try:
        return verify_cds_jwt(
            request.headers.get("authorization"), connections=settings.ehrs, audience=audience
        )
    except CdsAuthError as exc:
        raise HTTPException(
            401, f"CDS client not trusted: {exc}", headers={"WWW-Authenticate": "Bearer"}
        ) from exc


async def json_body(request: Request) -> dict[str, Any]:
    # Exact decimals: a dose of 0.1 mg must not become a binary float.
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise HTTPException(413, "The request body is larger than 1 MiB.")
    try:
        body = json.loads(raw, parse_float=Decimal)
    except ValueError as exc:
        raise HTTPException(422, "The body is not JSON.") from exc
    if not isinstance(body, dict):
        raise HTTPException(422, "The body must be a JSON object.")
    return body


Caller = Annotated[EhrConnection, Depends(cds_caller)]
Body = Annotated[dict[str, Any], Depends(json_body)]
SessionDep = Annotated[Session, Depends(get_session)]


@router.get("", name="cds:discovery")
def discovery() -> dict[str, Any]:
    return cds_documents.discovery()


@router.post("/{service_id}", name="cds:service")
def call_service(
    service_id: str, request: Request, caller: Caller, body: Body, session: SessionDep
) -> JSONResponse:
    call = cds_service.HookCall(
        service_id=service_id,
        hook=_text(body, "hook"),
        hook_instance=_text(body, "hookInstance"),
        context=_object(body, "context"),
        prefetch=body.get("prefetch") if isinstance(body.get("prefetch"), dict) else None,
        fhir_server=body.get("fhirServer") if isinstance(body.get("fhirServer"), str) else None,
        fhir_access_token=_access_token(body),
    )
    cards = cds_service.answer_hook(
        session,
        actor=_actor(request, caller),
        connection=caller,
        call=call,
        protocols=request.app.state.protocols,
        public_url=request.app.state.settings.public_url,
        today=date.today(),
    )
    return JSONResponse(json_numbers(cards))


@router.post("/{service_id}/feedback", name="cds:feedback")
def feedback(
    service_id: str, request: Request, caller: Caller, body: Body, session: SessionDep
) -> dict[str, Any]:
    items = body.get("feedback")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise HTTPException(422, "feedback must be a list of objects.")
    count = cds_service.record_feedback(
        session,
        actor=_actor(request, caller),
        connection=caller,
        service_id=service_id,
        feedback=items,
    )
    return {"recorded": count}


def _actor(request: Request, caller: EhrConnection) -> Any:
    return cds_service.ehr_actor(
        caller,
        request_id=request.scope.get("state", {}).get("request_id"),
        client_ip=request.client.host if request.client else None,
    )


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise HTTPException(422, f"{key} is required.")
    return value


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise HTTPException(422, f"{key} must be an object.")
    return value


def _access_token(body: dict[str, Any]) -> str | None:
    authorization = body.get("fhirAuthorization")
    if isinstance(authorization, dict) and isinstance(authorization.get("access_token"), str):
        return str(authorization["access_token"])
    return None
