"""Running the simulator's HTTP server: in a background thread for tests, or blocking for `hub serve-sim`.

Uvicorn runs with its access log off (paths and query strings carry personal data).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from hub.serving import serving
from hub.simulator import erp, loyalty
from hub.simulator.meta import load_meta
from hub.simulator.server import create_app


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


@contextmanager
def running_simulator(
    out_dir: Path, fault_rate: float = 0.0, port: int = 0, strict: bool = False
) -> Iterator[SimulatorEndpoints]:
    """Serve the world in `out_dir` on 127.0.0.1 (a free port when 0) for the duration of the block;
    `strict` serves only what the contract page names."""
    with serving(create_app(out_dir, fault_rate, strict=strict), port) as url:
        yield endpoints(out_dir, url)


def serve(
    out_dir: Path, host: str = "127.0.0.1", port: int = 8765, fault_rate: float = 0.0, strict: bool = False
) -> None:
    """Serve the world in `out_dir` until interrupted (for `hub serve-sim`); `strict` as in `create_app`."""
    app = create_app(out_dir, fault_rate, strict=strict)
    uvicorn.run(app, host=host, port=port, access_log=False, lifespan="off")
