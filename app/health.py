"""GET /healthz: public, answers 200 only when the database answers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.db.engine import READ_ONLY

router = APIRouter()


@router.get("/healthz", name="healthz", tags=["operations"])
def healthz(request: Request) -> JSONResponse:
    """Liveness and readiness in one: `{"status": "ok"}` when the database answers a query."""
    try:
        # Read-only: on SQLite a plain BEGIN, so the probe never queues behind a writer.
        with request.app.state.engine.connect() as connection:
            connection.execution_options(**{READ_ONLY: True}).execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
