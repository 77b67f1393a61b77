"""`titrate serve --workers N` keeps TCP_NODELAY on the connections its workers accept.

uvicorn's supervisor binds the listening socket itself with protocol 0 (Kludex/uvicorn#3149);
accepted sockets inherit it, and asyncio switches Nagle's algorithm off only for sockets that
say IPPROTO_TCP, so every keep-alive response after the first waited ~40 ms for the client's
delayed ACK (bench/load.py found it). app.cli rewraps the bound socket; these tests accept a
real loopback connection through asyncio, as a worker does, and read the option back.
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

import uvicorn

from app.cli import _stream_socket_with_protocol


async def _nodelay_of_accepted_connection(listener: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_connect(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=listener)
    async with server:
        host, port = listener.getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        nodelay = await asyncio.wait_for(accepted, timeout=5)
        writer.close()
    return nodelay


def _accept_one(listener: socket.socket) -> int:
    """TCP_NODELAY of one accepted connection. asyncio runs in a thread of its own: another
    test's event loop may still be running in this one (Playwright's sync API keeps one)."""
    with listener, ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, _nodelay_of_accepted_connection(listener)).result()


def _bound_like_uvicorns_supervisor() -> socket.socket:
    return uvicorn.Config(app="app.main:create_app", host="127.0.0.1", port=0).bind_socket()


def test_the_rewrapped_listener_gives_accepted_connections_tcp_nodelay() -> None:
    listener = _stream_socket_with_protocol(_bound_like_uvicorns_supervisor())
    assert listener.proto == socket.IPPROTO_TCP
    assert _accept_one(listener) == 1


def test_uvicorns_own_listener_still_loses_tcp_nodelay() -> None:
    """Why the workaround exists. When this fails, uvicorn has fixed #3149: drop the
    rewrapping in app.cli.serve and this test together."""
    listener = _bound_like_uvicorns_supervisor()
    assert listener.proto == 0
    assert _accept_one(listener) == 0
