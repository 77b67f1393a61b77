"""Every request sees the protocols in force now, in every worker and instance (issue 17).

Before a request reaches its route, this middleware asks the process's ``ProtocolFeed``
whether a look at the database is due (a clock read); if so, the look runs in a worker
thread (it reads the database: never on the event loop) and ``app.state.protocols``, which
every surface hands the engine, becomes the set it returns. Only one look runs at a time;
requests arriving meanwhile go on with the set they find. See services/protocol_feed.py for
the bound.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

LOG = logging.getLogger("titrate.protocols")


class ProtocolPickupMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            application = scope["app"]
            feed = getattr(application.state, "protocol_feed", None)
            if feed is not None and feed.due():
                await anyio.to_thread.run_sync(_refresh, application)
        await self.app(scope, receive, send)


def _refresh(application: Any) -> None:
    try:
        with application.state.sessionmaker() as session:
            application.state.protocols = application.state.protocol_feed.refresh(session)
    except Exception:  # the request goes on with the set it has; its own reads will fail
        LOG.exception("protocol check failed; the current protocols stay in use")
