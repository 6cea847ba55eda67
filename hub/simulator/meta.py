"""simulation.json: what a simulated world is (size, seed, profile, clock, counts) and how to log into it.

The credentials are derived from the seed, so a regenerated world keeps its keys and a
configured hub keeps working.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

from hub.simulator.profiles import STANDARD, Profile

META_FILE = "simulation.json"


@dataclass(frozen=True)
class SimulatorMeta:
    """The simulated world in `out_dir`: its size, seed, clock, record counts and credentials."""

    persons: int  # persons asked of `generate` (the population grows as days are advanced)
    seed: int
    today: date  # the day `generate` simulated up to
    clock: datetime  # the current simulated time (UTC)
    days_advanced: int
    webshop_key: str  # WooCommerce consumer key 'ck_...'
    webshop_secret: str  # WooCommerce consumer secret 'cs_...'
    esp_key: str  # Mailchimp API key '<hex>-us1'
    esp_list_id: str
    counts: dict[str, int] = field(default_factory=dict)
    profile: Profile = STANDARD  # the habits the world was generated with; `advance` keeps them


def credentials(seed: int) -> dict[str, str]:
    """The keys the server accepts, derived from the seed."""

    def digest(purpose: str, length: int) -> str:
        return hashlib.sha256(f"{seed}:{purpose}".encode()).hexdigest()[:length]

    return {
        "webshop_key": "ck_" + digest("woocommerce-key", 40),
        "webshop_secret": "cs_" + digest("woocommerce-secret", 40),
        "esp_key": digest("mailchimp-key", 32) + "-us1",
        "esp_list_id": digest("mailchimp-list", 10),
    }


def save_meta(out_dir: Path, meta: SimulatorMeta) -> None:
    data = asdict(meta)
    data["today"] = meta.today.isoformat()
    data["clock"] = meta.clock.isoformat(timespec="seconds")
    (Path(out_dir) / META_FILE).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_meta(out_dir: Path) -> SimulatorMeta:
    """Read simulation.json of the world generated into `out_dir`."""
    data = json.loads((Path(out_dir) / META_FILE).read_text(encoding="utf-8"))
    data["today"] = date.fromisoformat(data["today"])
    data["clock"] = datetime.fromisoformat(data["clock"])
    if "profile" in data:
        data["profile"] = Profile.from_dict(data["profile"])
    return SimulatorMeta(**data)
