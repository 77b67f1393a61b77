"""The app's routes as (method, path, dependency calls), router nesting flattened."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from starlette.routing import Mount


def iter_routes(app: FastAPI) -> Iterator[tuple[str, str, list[Any]]]:
    for route in app.routes:
        if isinstance(route, Mount):
            continue
        # FastAPI keeps included routers as nodes; their contexts carry the full path and deps.
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for context in contexts:
            dependant = getattr(context, "dependant", None)
            for method in sorted(context.methods or ()):
                if method != "HEAD":
                    yield method, context.path, _dependency_calls(dependant)


def _dependency_calls(dependant: Any) -> list[Any]:
    calls, stack = [], [dependant] if dependant is not None else []
    while stack:
        node = stack.pop()
        calls.append(node.call)
        stack.extend(node.dependencies)
    return calls
