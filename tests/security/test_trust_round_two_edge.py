"""Issue 13, "Memory exhaustion before authentication", "Host header trusted in redirects"
and "X-Forwarded-For from 127.0.0.1 trusted by default": limits at the edge."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db.models import AuditEventRecord
from app.edge import MAX_BODY_BYTES
from app.main import create_app
from tests.conftest import TEST_SECRET

OVER = b"{" + b" " * MAX_BODY_BYTES + b"}"

HeadersFactory = Callable[..., dict[str, str]]


def test_memory_exhaustion_json_body_over_1_mib_is_413_before_auth(
    client: TestClient, db: Session
) -> None:
    mark = db.scalar(select(func.max(AuditEventRecord.id))) or 0
    # No token at all: the size is refused first, so nothing asks who is calling.
    response = client.post(
        "/api/v1/patients", content=OVER, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert (db.scalar(select(func.max(AuditEventRecord.id))) or 0) == mark


def test_memory_exhaustion_form_body_over_1_mib_is_413(client: TestClient) -> None:
    form = b"username=a&password=" + b"x" * MAX_BODY_BYTES
    response = client.post(
        "/login", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413
    assert "text/html" in response.headers["content-type"]


def test_memory_exhaustion_chunked_body_is_cut_at_1_mib(client: TestClient) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(64):  # 4 MiB offered; reading stops after the first MiB
            sent += 1
            yield b" " * 65536

    response = client.post(
        "/api/v1/patients", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_a_body_of_exactly_1_mib_is_read(client: TestClient, auth_headers: dict[str, str]) -> None:
    body = b"{" + b" " * (MAX_BODY_BYTES - 2) + b"}"
    response = client.post(
        "/api/v1/patients",
        content=body,
        headers={**auth_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422  # read and parsed: an empty object is no patient


@pytest.fixture
def auth_headers(auth_headers_factory: HeadersFactory) -> dict[str, str]:
    return auth_headers_factory("patients:write")


def test_host_header_trusted_in_redirects_refused_outside_allowed_hosts(
    settings: Settings,
) -> None:
    app = create_app(settings.model_copy(update={"allowed_hosts": "titrate.example.org"}))
    with TestClient(app, base_url="http://evil.example", follow_redirects=False) as test_client:
        assert test_client.get("/").status_code == 400
    with TestClient(
        app, base_url="http://titrate.example.org", follow_redirects=False
    ) as test_client:
        response = test_client.get("/")
        assert response.status_code in (302, 303, 307)
        assert response.headers["location"].startswith(("/", "http://titrate.example.org"))


def test_allowed_hosts_default_in_prod_is_loopback_only() -> None:
    prod = Settings(environment="prod", secret_key=TEST_SECRET, database_url="sqlite://")
    assert prod.allowed_host_names == ["localhost", "127.0.0.1", "[::1]"]
    assert Settings(environment="test", secret_key=TEST_SECRET).allowed_host_names == ["*"]


def test_x_forwarded_for_from_127_0_0_1_not_trusted_by_default() -> None:
    assert Settings(environment="test", secret_key=TEST_SECRET).forwarded_allow_ips == ""


def test_uvicorn_config_trusts_forwarded_headers_only_from_configured_proxies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    from app import cli
    from app.server_protocol import HeaderTimeoutProtocol

    seen: list[uvicorn.Config] = []

    class Server:
        started = True

        def __init__(self, config: uvicorn.Config) -> None:
            seen.append(config)

        def run(self) -> None:
            return None

    monkeypatch.setattr(uvicorn, "Server", Server)
    for allowed, proxy_headers in (("", False), ("10.0.0.5", True)):
        cli.serve(
            "app.main:create_app", factory=True, host="127.0.0.1", port=0, workers=1,
            forwarded_allow_ips=allowed,
        )  # fmt: skip
        config = seen[-1]
        assert config.proxy_headers is proxy_headers
        assert config.http is HeaderTimeoutProtocol
        assert config.timeout_keep_alive == 5


def test_idle_socket_without_header_timeout_is_closed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A real `uvicorn` server with the protocol `titrate serve` uses: a silent connection and
    a slow head are both closed by the header timeout."""
    import asyncio
    import threading

    import uvicorn

    from app.server_protocol import HeaderTimeoutProtocol

    class Quick(HeaderTimeoutProtocol):
        header_timeout = 0.5

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, http=Quick, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[listener])), daemon=True
    )
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        for opening in (b"", b"GET / HTTP/1.1\r\nHost: x\r\n"):
            with socket.create_connection(("127.0.0.1", port)) as conn:
                conn.sendall(opening)
                conn.settimeout(10)
                assert conn.recv(1024) == b""  # closed by the server, long before 10 s
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            conn.settimeout(10)
            assert conn.recv(1024).startswith(b"HTTP/1.1 204")
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()
