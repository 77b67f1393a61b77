"""No API handler does database work on the event loop.

An `async def` handler runs on the worker's event loop, so a blocking database call in it
(on SQLite: waiting up to busy_timeout for the write lock) freezes every other request of
that worker — including the one holding the lock, which needs the loop to finish and close
its session. tests/resilience/test_concurrent_writers.py met exactly that as "database is
locked" from POST /api/v1/patients/{id}/plans. Handlers that touch the database are `def`:
FastAPI runs them in a worker thread.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI

from app.api.v1.deps import get_session


def _api_handlers(app: FastAPI) -> Iterator[tuple[str, Any, list[Any]]]:
    """(path, endpoint, every dependency it calls) for each API route."""
    for route in app.routes:
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for context in contexts:
            dependant = getattr(context, "dependant", None)
            if dependant is None or not getattr(context, "path", "").startswith("/api/"):
                continue
            calls, stack = [], [dependant]
            while stack:
                node = stack.pop()
                calls.append(node.call)
                stack.extend(node.dependencies)
            yield context.path, context.endpoint, calls


def test_api_handlers_that_use_the_database_run_in_a_worker_thread(app: FastAPI) -> None:
    with_session = [
        (path, endpoint) for path, endpoint, calls in _api_handlers(app) if get_session in calls
    ]
    on_the_loop = [path for path, endpoint in with_session if inspect.iscoroutinefunction(endpoint)]
    assert len(with_session) > 10, "the API routes were not found"
    assert on_the_loop == []
