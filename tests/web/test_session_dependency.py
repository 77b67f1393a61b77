"""The web's database session is made and closed on the event loop without I/O (no thread
hops per page); one left in a transaction is closed, i.e. rolled back, in a worker thread."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from app.web.deps import get_session


def _run(coroutine: Any) -> Any:
    """asyncio.run in a thread of its own: the session's Chromium (sync Playwright) keeps an
    event loop in the main thread, where asyncio.run refuses to start another."""
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(asyncio.run(coroutine)))
    worker.start()
    worker.join()
    return result[0]


def _request(factory: sessionmaker[Session]) -> Any:
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(sessionmaker=factory)))


def _closing_thread(session: Session) -> list[str]:
    threads: list[str] = []
    original = session.close

    def close() -> None:
        threads.append(threading.current_thread().name)
        original()

    session.close = close  # type: ignore[method-assign]
    return threads


def test_an_unused_session_is_closed_on_the_loop(session_factory: sessionmaker[Session]) -> None:
    async def run() -> tuple[list[str], str]:
        dependency = get_session(_request(session_factory))
        session = await anext(dependency)
        threads = _closing_thread(session)
        await dependency.aclose()
        return threads, threading.current_thread().name

    threads, loop_thread = _run(run())
    assert threads == [loop_thread]


def test_a_session_left_in_a_transaction_is_closed_in_a_worker_thread(
    session_factory: sessionmaker[Session],
) -> None:
    async def run() -> tuple[list[str], str, bool]:
        dependency = get_session(_request(session_factory))
        session = await anext(dependency)
        session.execute(text("SELECT 1"))  # a handler that failed half-way
        threads = _closing_thread(session)
        await dependency.aclose()
        return threads, threading.current_thread().name, session.in_transaction()

    threads, loop_thread, still_open = _run(run())
    assert len(threads) == 1
    assert threads[0] != loop_thread
    assert not still_open
