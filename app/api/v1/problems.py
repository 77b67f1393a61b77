"""RFC 9457 problem details for /api: one table from exception to (status, type, title)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from app.domain.titration.errors import TitrationError
from app.services.errors import (
    AuthenticationFailed,
    Busy,
    Conflict,
    EhrUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceError,
    StaleVersion,
)

PROBLEM_JSON = "application/problem+json"

_SERVICE_PROBLEMS: dict[type[ServiceError], tuple[int, str, str]] = {
    NotFound: (404, "not-found", "Not found"),
    Conflict: (409, "conflict", "Conflict"),
    StaleVersion: (412, "stale-version", "Precondition failed: the record has changed"),
    InvalidInput: (422, "validation-error", "Invalid input"),
    AuthenticationFailed: (401, "unauthenticated", "Authentication required"),
    Forbidden: (403, "forbidden", "Forbidden"),
    EhrUnavailable: (502, "ehr-unavailable", "The EHR did not answer"),
}

_CODED_CONFLICTS = frozenset({"idempotency_key_reused", "self_review", "self_approval"})

_HTTP_TITLES = {
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    412: ("stale-version", "Precondition failed"),
    428: ("precondition-required", "Precondition required"),
}


def problem(
    request: Request,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def render_api_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, RequestValidationError):
        return _validation_problem(request, exc)
    if isinstance(exc, InvalidInput):
        errors = [{"loc": ["body", p.field], "msg": p.message} for p in exc.problems]
        return problem(
            request,
            status=422,
            slug="validation-error",
            title="Invalid input",
            detail=str(exc),
            errors=errors,
        )
    if isinstance(exc, TitrationError):
        return _titration_problem(request, exc)
    if isinstance(exc, Busy):
        headers = {"Retry-After": str(exc.retry_after_seconds)}
        return problem(request, status=503, slug="busy", title="Service busy", detail=str(exc),
                       headers=headers)  # fmt: skip
    if isinstance(exc, ServiceError):
        # By class hierarchy: a subclass (permissions.Refused is a Forbidden) maps like its base.
        status, slug, title = next(
            (_SERVICE_PROBLEMS[cls] for cls in type(exc).__mro__ if cls in _SERVICE_PROBLEMS),
            (400, "bad-request", "Bad request"),
        )
        if type(exc).code in _CODED_CONFLICTS:
            # API.md §5.5 names these: the slug and `code` say which conflict it is.
            slug = exc.code.replace("_", "-")
            return problem(
                request, status=status, slug=slug, title=title, detail=str(exc), code=exc.code
            )
        return problem(request, status=status, slug=slug, title=title, detail=str(exc))
    if isinstance(exc, HTTPException) and exc.status_code == 400:
        return _unreadable_body_problem(request)
    if isinstance(exc, HTTPException):
        slug, title = _HTTP_TITLES.get(exc.status_code, ("http-error", "Request refused"))
        return problem(
            request,
            status=exc.status_code,
            slug=slug,
            title=title,
            detail=str(exc.detail),
            headers=exc.headers,
        )
    return problem(
        request,
        status=500,
        slug="internal-error",
        title="Internal server error",
        detail="The server failed; the request id in X-Request-Id identifies the log entry.",
    )


def _unreadable_body_problem(request: Request) -> JSONResponse:
    """FastAPI answers 400 when a JSON body is not even text (invalid UTF-8), but 422 when the
    text does not parse; both are the same client mistake, so both get the documented 422."""
    return problem(
        request,
        status=422,
        slug="validation-error",
        title="Invalid input",
        detail="The body could not be read as JSON.",
        errors=[{"loc": ["body"], "msg": "The body could not be read as JSON."}],
    )


def _titration_problem(request: Request, exc: TitrationError) -> JSONResponse:
    """No valid plan can be made from this input (or a target is above a hard limit)."""
    loc = ["body", *exc.field.split(".")] if exc.field else ["body"]
    return problem(
        request,
        status=422,
        slug=exc.code.replace("_", "-"),
        title="No valid plan for this input",
        detail=exc.message,
        code=exc.code,
        errors=[{"loc": loc, "msg": exc.message}],
    )


def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", ""))} for err in exc.errors()
    ]
    fields = ", ".join(".".join(str(part) for part in e["loc"][1:]) or "body" for e in errors)
    return problem(
        request,
        status=422,
        slug="validation-error",
        title="Invalid input",
        detail=f"Invalid value in: {fields}",
        errors=errors,
    )


# Declared on every route so OpenAPI and generated clients see the problem shapes.
PROBLEM_SCHEMA = {
    "content": {
        PROBLEM_JSON: {
            "schema": {
                "type": "object",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "loc": {"type": "array", "items": {}},
                                "msg": {"type": "string"},
                            },
                        },
                    },
                },
            }
        }
    }
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"description": "Problem", **PROBLEM_SCHEMA} for status in statuses}
