"""Running the simulator's HTTP server: in a background thread for tests, or blocking for `hub serve-sim`.

Uvicorn runs with its access log off (paths and query strings carry personal data).
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from hub.simulator import erp, loyalty
from hub.simulator.meta import load_meta
from hub.simulator.server import create_app

STARTUP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class SimulatorEndpoints:
    """Where the four simulated systems are and how to log into them."""

    url: str  # root, e.g. 'http://127.0.0.1:54321'
    webshop_url: str  # WooCommerce site URL (the API is under /wp-json/wc/v3)
    esp_url: str  # Mailchimp API root, url + '/3.0'
    webshop_key: str
    webshop_secret: str
    esp_key: str
    esp_list_id: str
    erp_url: str  # SQLAlchemy URL of the ERP database
    loyalty_dir: str  # the loyalty vendor's drop folder

    def hub_environment(self) -> dict[str, str]:
        """The ``HUB_*`` variables that point a hub at these systems, as a user would set them."""
        return {
            "HUB_ERP_URL": self.erp_url,
            "HUB_WEBSHOP_URL": self.webshop_url,
            "HUB_WEBSHOP_KEY": self.webshop_key,
            "HUB_WEBSHOP_SECRET": self.webshop_secret,
            "HUB_LOYALTY_DIR": self.loyalty_dir,
            "HUB_ESP_URL": self.esp_url,
            "HUB_ESP_KEY": self.esp_key,
            "HUB_ESP_LIST_ID": self.esp_list_id,
        }


def endpoints(out_dir: Path, url: str) -> SimulatorEndpoints:
    out_dir = Path(out_dir).resolve()
    meta = load_meta(out_dir)
    return SimulatorEndpoints(
        url=url,
        webshop_url=url,
        esp_url=f"{url}/3.0",
        webshop_key=meta.webshop_key,
        webshop_secret=meta.webshop_secret,
        esp_key=meta.esp_key,
        esp_list_id=meta.esp_list_id,
        erp_url=f"sqlite:///{out_dir / erp.FILE}",
        loyalty_dir=str(out_dir / loyalty.FOLDER),
    )


def _config(out_dir: Path, host: str, port: int, fault_rate: float, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(out_dir, fault_rate), host=host, port=port, access_log=False, log_level=log_level, lifespan="off"
    )


def _wait_until_answering(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the simulator server stopped during start-up")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise RuntimeError(f"the simulator server did not answer at {url} within {STARTUP_TIMEOUT_SECONDS} s")


@contextmanager
def running_simulator(out_dir: Path, fault_rate: float = 0.0, port: int = 0) -> Iterator[SimulatorEndpoints]:
    """Serve the world in `out_dir` on 127.0.0.1 (a free port when 0) for the duration of the block."""
    server = uvicorn.Server(_config(out_dir, "127.0.0.1", port, fault_rate, "warning"))
    thread = threading.Thread(target=server.run, name="simulator-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the simulator server failed to start")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{bound}"
    try:
        _wait_until_answering(url, thread)
        yield endpoints(out_dir, url)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_SECONDS)


def serve(out_dir: Path, host: str = "127.0.0.1", port: int = 8765, fault_rate: float = 0.0) -> None:
    """Serve the world in `out_dir` until interrupted (for `hub serve-sim`)."""
    uvicorn.Server(_config(out_dir, host, port, fault_rate, "info")).run()
