"""ASGI middleware shared by both surfaces: request ids and security headers on every response."""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("titrate.http")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class SecurityHeadersMiddleware:
    """Adds the headers of RELIABILITY.md S6 to every response, errors and static files too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope["path"].startswith("/static/")
        is_tls = scope.get("scheme") == "https"
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder: list[int] = []

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder.append(message["status"])
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Frame-Options"] = "DENY"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["X-Request-Id"] = request_id
                if is_tls:
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
                # Anything but static files may carry patient data: never cache it.
                if not is_static:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            # Path only, never the query string: search terms can be patient names.
            log.info(
                "request id=%s method=%s path=%s status=%s ms=%.1f",
                request_id,
                scope["method"],
                loggable_path(scope["path"]),
                status_holder[0] if status_holder else "-",
                (time.perf_counter() - started) * 1000,
            )


# A calendar feed's address is its secret (calendar apps send no token): never logged.
_FEED_PATH = re.compile(r"^(/api/v1/calendar-feeds/)[^/]+(\.ics)$")


# Nor is a password reset link's (services/password_reset.py).
_RESET_PATH = re.compile(r"^(/account/reset/)[^/]+$")


def loggable_path(path: str) -> str:
    return _RESET_PATH.sub(r"\1…", _FEED_PATH.sub(r"\1…\2", path))
