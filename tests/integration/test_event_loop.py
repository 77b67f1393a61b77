"""No handler of either surface does database work on the event loop.

An `async def` handler or dependency runs on the worker's event loop, so a blocking database
call in it (on SQLite: waiting up to busy_timeout for the write lock) freezes every other
request of that worker, including the one holding the lock, which needs the loop to finish
and close its session. tests/resilience/test_concurrent_writers.py met exactly that as
"database is locked" from POST /api/v1/patients/{id}/plans, and the planner's browser test
from the live preview. Whatever receives a database session is a plain `def`: FastAPI runs
it in a worker thread. A handler that needs the form or the raw body gets it from an async
dependency (web.deps.posted_form, api plans._raw_body).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from starlette.routing import Mount

from app.api.v1.deps import get_session as api_session
from app.web.deps import SessionDep
from app.web.deps import get_session as web_session

SESSION_DEPENDENCIES = (api_session, web_session)


def _nodes(app: FastAPI) -> Iterator[tuple[str, Any]]:
    """(path, dependant) for every endpoint and every dependency of every route."""
    for route in app.routes:
        if isinstance(route, Mount):
            continue
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for context in contexts:
            stack = [getattr(context, "dependant", None)]
            while stack:
                node = stack.pop()
                if node is None:
                    continue
                yield context.path, node
                stack.extend(node.dependencies)


def _takes_a_session(node: Any) -> bool:
    return any(child.call in SESSION_DEPENDENCIES for child in node.dependencies)


def test_nothing_on_the_event_loop_receives_a_database_session(app: FastAPI) -> None:
    nodes = list(_nodes(app))
    with_session = [(path, node) for path, node in nodes if _takes_a_session(node)]
    on_the_loop = sorted(
        {f"{path}: {node.call.__name__}" for path, node in with_session
         if inspect.iscoroutinefunction(node.call)}
    )  # fmt: skip
    api = {path for path, _ in with_session if path.startswith("/api/")}
    web = {path for path, _ in with_session if not path.startswith("/api/")}
    assert len(api) > 10, "the API routes were not found"
    assert len(web) > 20, "the web routes were not found"
    assert on_the_loop == []


async def _bad_handler(session: SessionDep) -> None:  # pragma: no cover - never called
    return None


def test_the_check_sees_an_async_handler_that_takes_a_session() -> None:
    """The inventory above can fail: an `async def` route with a session is reported."""
    app = FastAPI()
    app.add_api_route("/bad", _bad_handler, methods=["POST"])
    offenders = [
        node.call.__name__ for _, node in _nodes(app)
        if _takes_a_session(node) and inspect.iscoroutinefunction(node.call)
    ]  # fmt: skip
    assert offenders == ["_bad_handler"]
