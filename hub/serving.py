"""Serving an ASGI app from a background thread, for the duration of a ``with`` block.

The simulator in tests and demos, and the hub's own API in tests, run this way: a real HTTP server
on a free port of 127.0.0.1, with uvicorn's access log off (paths and query strings carry personal
data). The app's lifespan runs, so an app holding resources (the hub's API: its open database and its
audit writer) lets them go when the block ends.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

STARTUP_TIMEOUT_SECONDS = 30


def _wait_until_answering(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the server stopped during start-up")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise RuntimeError(f"the server did not answer at {url} within {STARTUP_TIMEOUT_SECONDS} s")


@contextmanager
def serving(app: Any, port: int = 0) -> Iterator[str]:
    """Serve ``app`` (which answers ``GET /health``) on 127.0.0.1; yields its root URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning", lifespan="auto")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="hub-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server failed to start")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        _wait_until_answering(url, thread)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
