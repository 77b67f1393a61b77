"""SMART App Launch 2, EHR launch with PKCE: `/smart/launch` → the EHR's authorize endpoint
→ `/smart/callback` → a session for the mapped user, on the planner of the patient in context.

The state, the PKCE verifier and the EHR id travel in a short-lived cookie sealed with an
HMAC of the secret key (path /smart, HttpOnly, SameSite=Lax: the EHR's redirect back is a
top-level GET, which Lax allows).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.ehr import smart
from app.ehr.connections import EhrConnection
from app.ehr.mapping import load_import_rules
from app.services import smart_launch
from app.services.errors import AuthenticationFailed, EhrUnavailable, NotFound
from app.services.permissions import can
from app.web.deps import SessionDep, SettingsDep, request_actor, session_cookie_name, session_policy
from app.web.templating import render

router = APIRouter(prefix="/smart")
STATE_COOKIE = "titrate_smart"
STATE_SECONDS = 600
LAUNCH_PARAM = Annotated[str, Query(min_length=1, max_length=2000)]


@router.get("/launch", name="smart:launch")
def launch(
    request: Request, settings: SettingsDep, iss: LAUNCH_PARAM, launch: LAUNCH_PARAM
) -> Response:
    connection = _connection_for(settings.ehrs, iss)
    if connection is None:
        return _error(request, "This EHR is not configured in Titrate.", 400)
    try:
        authorize, _ = smart.endpoints(connection)
    except smart.SmartError as exc:
        return _error(request, f"The EHR's authorisation server did not answer: {exc}", 502)
    pkce = smart.new_pkce()
    state = secrets.token_urlsafe(24)
    url = smart.authorize_url(
        connection,
        authorize=authorize,
        redirect_uri=str(request.url_for("smart:callback")),
        launch=launch,
        state=state,
        pkce=pkce,
    )
    response = RedirectResponse(url, status_code=303)
    sealed = _seal(
        {"s": state, "v": pkce.verifier, "e": connection.id, "t": int(time.time())},
        settings.secret_key.get_secret_value(),
    )
    response.set_cookie(
        STATE_COOKIE,
        sealed,
        max_age=STATE_SECONDS,
        path="/smart",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/callback", name="smart:callback")
def callback(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    sealed = _unseal(request.cookies.get(STATE_COOKIE), settings.secret_key.get_secret_value())
    if sealed is None or not state or not hmac.compare_digest(state, str(sealed["s"])):
        return _error(request, "This launch expired or did not start here; launch again.", 400)
    connection = settings.ehr(str(sealed["e"]))
    if connection is None or error or not code:
        return _error(request, "The EHR did not authorise the launch.", 403)
    try:
        _, token_url = smart.endpoints(connection)
        token = smart.exchange_code(
            connection,
            token_url=token_url,
            code=code,
            redirect_uri=str(request.url_for("smart:callback")),
            verifier=str(sealed["v"]),
        )
        result = smart_launch.complete_launch(
            session,
            connection=connection,
            token=token,
            policy=session_policy(settings),
            actor=request_actor(request, None),
            medications=request.app.state.protocols.medications,
            rules=load_import_rules(),
            today=date.today(),
        )
    except smart.SmartError as exc:
        return _error(request, f"The EHR's authorisation server refused: {exc}", 502)
    except EhrUnavailable as exc:
        return _error(request, str(exc), 502)
    except AuthenticationFailed as exc:
        return _error(request, str(exc), 403)
    except NotFound as exc:
        return _error(request, str(exc), 404)
    target = (
        request.url_for("plans:new", patient_id=result.patient_id)
        if can(result.actor, "plan.create")
        else request.url_for("patients:detail", patient_id=result.patient_id)
    )
    response = RedirectResponse(str(target), status_code=303)
    response.set_cookie(
        session_cookie_name(request),
        result.login.session_id,
        max_age=settings.session_absolute_hours * 3600,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    response.delete_cookie(STATE_COOKIE, path="/smart")
    return response


def _connection_for(connections: list[EhrConnection], iss: str) -> EhrConnection | None:
    wanted = iss.rstrip("/")
    return next(
        (
            c
            for c in connections
            if c.client_id and wanted in (c.fhir_base.rstrip("/"), c.issuer.rstrip("/"))
        ),
        None,
    )


def _error(request: Request, message: str, status: int) -> Response:
    return render(request, "smart/error.html", {"message": message}, status_code=status)


def _seal(payload: dict[str, Any], key: str) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    mac = hmac.new(key.encode(), f"smart:{body}".encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _unseal(value: str | None, key: str) -> dict[str, Any] | None:
    if not value or "." not in value:
        return None
    body, mac = value.rsplit(".", 1)
    expected = hmac.new(key.encode(), f"smart:{body}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        payload: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        )
    except ValueError:
        return None
    if int(payload.get("t", 0)) + STATE_SECONDS < time.time():
        return None
    return payload
