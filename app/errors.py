"""One exception handler for the whole app; it picks the surface by path prefix."""

from __future__ import annotations

import logging
import sqlite3

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from app import refusals
from app.api.v1.problems import render_api_error
from app.domain.titration.errors import TitrationError
from app.middleware import loggable_path
from app.refusals import AuditedRefusal
from app.services.errors import Busy, ServiceError
from app.services.permissions import Refused, record_refusal
from app.web.errors import render_web_error

log = logging.getLogger("titrate.errors")


def install_error_handlers(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> Response:
        if is_lock_timeout(exc):
            log.warning(
                "database busy id=%s path=%s",
                request.scope.get("state", {}).get("request_id"),
                loggable_path(request.url.path),
            )
            exc = Busy()
        if not isinstance(
            exc, ServiceError | TitrationError | HTTPException | RequestValidationError
        ):
            # Ids only: the message of an unexpected error may quote patient data.
            log.error(
                "unhandled id=%s path=%s error=%s",
                request.scope.get("state", {}).get("request_id"),
                loggable_path(request.url.path),
                type(exc).__name__,
            )
        if isinstance(exc, Refused):
            await run_in_threadpool(_audit_refusal, request, exc)
        if isinstance(exc, AuditedRefusal) and exc.audit:
            await run_in_threadpool(_audit_edge_refusal, request, exc)
        # The API and the CDS Hooks services answer JSON problems; pages answer HTML.
        if request.url.path.startswith(("/api/", "/cds-services")):
            return render_api_error(request, exc)
        return render_web_error(request, exc)

    for exc_class in (
        ServiceError,
        OperationalError,  # SQLite's lock held past busy_timeout: a 503, not a 500
        TitrationError,
        HTTPException,
        RequestValidationError,
        Exception,
    ):
        app.add_exception_handler(exc_class, handle)


def _audit_edge_refusal(request: Request, refusal: AuditedRefusal) -> None:
    try:
        with request.app.state.sessionmaker() as session:
            refusals.record(session, request, refusal)
    except Exception as exc:  # the refusal stands even when the audit write fails
        log.error(
            "refusal not audited id=%s path=%s error=%s",
            request.scope.get("state", {}).get("request_id"),
            loggable_path(request.url.path),
            type(exc).__name__,
        )


def is_lock_timeout(exc: Exception) -> bool:
    """SQLite gave up waiting for its write lock (busy_timeout): another transaction held it
    too long. Nothing of this request was written; the client may try again."""
    return (
        isinstance(exc, OperationalError)
        and isinstance(exc.orig, sqlite3.OperationalError)
        and "locked" in str(exc.orig)
    )


def _audit_refusal(request: Request, refusal: Refused) -> None:
    try:
        with request.app.state.sessionmaker() as session:
            record_refusal(
                session, refusal, method=request.method, path=loggable_path(request.url.path)
            )
    except Exception as exc:  # the refusal stands even when the audit write fails
        log.error(
            "refusal not audited id=%s path=%s error=%s",
            request.scope.get("state", {}).get("request_id"),
            loggable_path(request.url.path),
            type(exc).__name__,
        )
