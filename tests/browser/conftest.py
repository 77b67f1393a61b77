"""A real server and a real Chromium for browser journeys.

The server runs the real app (`create_app`) under uvicorn in a thread, on the session's test
database (already migrated, standard users present). It commits for real, so browser tests
must use unique names and MRNs. The server shares the SQLite file with the test process: a
test that writes through its own Session commits and closes it before driving the page, and
uses `expire_on_commit=False`, so reading an id afterwards opens no new transaction (on
SQLite a BEGIN IMMEDIATE: the write lock the live server needs for every save). Chromium is
Debian's; Playwright never downloads a browser.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import expect
from sqlalchemy import Engine

from app.config import Settings
from app.main import PROJECT_ROOT, create_app
from tests.browser.chromium import CHROMIUM as CHROMIUM
from tests.browser.chromium import CHROMIUM_ARGS as CHROMIUM_ARGS
from tests.browser.timeouts import TIMEOUT_MS

SCREENSHOTS = PROJECT_ROOT / "out" / "screenshots"
expect.set_options(timeout=TIMEOUT_MS)  # assertions wait as long as actions may


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(settings: Settings, migrated_engine: Engine) -> Iterator[str]:
    """Base URL of the app served by uvicorn on 127.0.0.1 and a free port."""
    assert (PROJECT_ROOT / "static/vendor/htmx.min.js").is_file(), (
        "static/vendor/htmx.min.js is missing: run the Makefile setup (npm ci and copy)"
    )
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
