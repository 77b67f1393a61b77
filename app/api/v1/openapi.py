"""The published OpenAPI document, made honest for generated clients (API.md §5.3).

FastAPI describes each route from its signature; a few things the server enforces are not in
a signature, and a few defaults make generated clients clumsy. One post-processing pass over
the whole document fixes them for every route, including routes added later:

- one shared `Problem` schema (RFC 9457 with our `code` and `errors`), referenced by every
  problem response, instead of a copy inlined in each (FastAPI's own `HTTPValidationError`
  422 is replaced by it, as the server answers 422 with a problem);
- short operationIds from the handler's name (`create_plan` → `createPlan`);
- `If-Match` is required on every operation that answers 428 without it;
- `ETag` and `Location` response headers where the server sends them: a route declares them
  with `openapi_extra=sends_headers("ETag", "Location")`, and its success response gets them;
- exact numbers (`ExactNumber`) as JSON numbers, which is what the server reads and writes;
- the edge limits: 429 (with `Retry-After`) on every operation that takes a token, as the
  per-token rate limit answers (app/request_limits.py), and 413 on every operation with a
  request body, as the body cap answers (app/edge.py).

Additions only: no path, parameter or field changes name or meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.api.v1.problems import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details (application/problem+json).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A URI reference naming the problem."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {
            "type": "string",
            "description": "A machine-readable reason, e.g. a refusal code of the engine.",
        },
        "errors": {
            "type": "array",
            "description": "Validation errors: where (`loc`) and what (`msg`).",
            "items": {"$ref": "#/components/schemas/ProblemError"},
        },
    },
}
PROBLEM_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ProblemError",
    "type": "object",
    "required": ["loc", "msg"],
    "properties": {
        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"type": "string"},
    },
}
_ETAG = {
    "description": "The record's version, quoted; send it back as `If-Match` to change it.",
    "schema": {"type": "string"},
}
_LOCATION = {"description": "The URL of the record made.", "schema": {"type": "string"}}
_METHODS = ("get", "put", "post", "patch", "delete")
_RETRY_AFTER = {
    "description": "Seconds to wait before the next request.",
    "schema": {"type": "integer"},
}
_TOO_MANY_REQUESTS = "Too many requests for this token; retry after `Retry-After` seconds."
_TOO_LARGE = "The request body is larger than 1 MiB."


_HEADERS_KEY = "x-titrate-response-headers"
_HEADERS = {"ETag": _ETAG, "Location": _LOCATION}


def sends_headers(*names: str) -> dict[str, Any]:
    """For a route's `openapi_extra`: the headers its success response carries."""
    unknown = set(names) - set(_HEADERS)
    if unknown:
        raise ValueError(f"no description for header(s) {sorted(unknown)}")
    return {_HEADERS_KEY: list(names)}


def operation_id(route: APIRoute) -> str:
    """`api:create_plan` → `createPlan`: the route's name (else its handler's) in
    lowerCamelCase; a test checks that every operation's is unique."""
    name = route.name.removeprefix("api:") if route.name.startswith("api:") else None
    head, *rest = (name or route.endpoint.__name__).split("_")
    return head + "".join(word.capitalize() for word in rest)


def install(app: FastAPI) -> None:
    """Replaces `app.openapi` with the post-processed document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = post_process(document)
        return app.openapi_schema

    setattr(app, "openapi", openapi)  # noqa: B010  # FastAPI's documented override


def post_process(document: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ProblemError"] = PROBLEM_ERROR_SCHEMA
    for item in document.get("paths", {}).values():
        for method in _METHODS:
            operation = item.get(method)
            if operation is not None:
                _operation(operation)
    _walk(schemas, _exact_numbers)
    _walk(document.get("paths", {}), _exact_numbers)
    return document


def _operation(operation: dict[str, Any]) -> None:
    summary = operation.get("summary", "")
    if summary.startswith("Api:"):  # FastAPI titles a named route "Api:Create Plan"
        words = summary.removeprefix("Api:").split()
        operation["summary"] = " ".join([words[0], *(w.lower() for w in words[1:])])
    responses: dict[str, Any] = operation.get("responses", {})
    # Every operation that answers 401 takes a token, and so can meet its rate limit.
    if "401" in responses:
        responses.setdefault(
            "429", {"description": _TOO_MANY_REQUESTS, "headers": {"Retry-After": _RETRY_AFTER}}
        )
    if "requestBody" in operation:
        responses.setdefault("413", {"description": _TOO_LARGE})
    for status, response in responses.items():
        if status.startswith(("4", "5")):
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
            response.setdefault("description", "Problem")
    if "428" in responses:
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "header" and parameter["name"].lower() == "if-match":
                parameter["required"] = True
                parameter["schema"] = {"type": "string"}
                parameter.setdefault(
                    "description", "The `ETag` of the version being changed (428 without it)."
                )
    names = operation.pop(_HEADERS_KEY, [])
    success = next((s for s in ("201", "200") if s in responses), None)
    if names and success is not None:
        headers = responses[success].setdefault("headers", {})
        for name in names:
            headers.setdefault(name, _HEADERS[name])


def _exact_numbers(node: dict[str, Any]) -> None:
    """`ExactNumber` (a Decimal) is published by pydantic as `number | string`; the server reads
    and writes JSON numbers, so the schema says number."""
    options = node.get("anyOf")
    if not isinstance(options, list):
        return
    if not any(o.get("type") == "number" for o in options):
        return
    # A Decimal's string alternative (with or without pydantic's decimal pattern).
    kept = [o for o in options if o.get("type") != "string"]
    if len(kept) != len(options):
        if len(kept) == 1:
            del node["anyOf"]
            node.update(kept[0])
        else:
            node["anyOf"] = kept


def _walk(node: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)
