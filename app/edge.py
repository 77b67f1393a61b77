"""Limits at the edge, before any route, dependency or token check runs (issue 13, item 4).

`BodySizeLimitMiddleware` refuses a request body above `max_bytes` (1 MiB): at once when
Content-Length says so, and as soon as a chunked body grows past it. Nothing of the body is
buffered beyond the limit, so a client cannot spend the server's memory before it has shown
a token or a session. The answer is a 413 problem (API) or a short page (web).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024

_PROBLEM = {
    "type": "https://titrate.invalid/problems/payload-too-large",
    "title": "Request body too large",
    "status": 413,
    "detail": f"A request body may hold at most {MAX_BODY_BYTES} bytes (1 MiB).",
    "code": "payload_too_large",
}
_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Request too large</title>"
    "<h1>Request too large</h1><p>What was sent is larger than 1 MiB.</p></html>"
)


class _BodyTooLarge(Exception):
    """Raised into the app when a streamed body passes the limit."""


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(scope, send)
            return
        received = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return  # whatever the app makes of the aborted read, the answer is our 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await _refuse(scope, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, send: Send) -> None:
    if scope["path"].startswith("/api/"):
        body = json.dumps(_PROBLEM).encode()
        content_type = b"application/problem+json"
    else:
        body = _PAGE.encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
