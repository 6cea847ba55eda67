"""Settings of a hub deployment, read from ``HUB_*`` environment variables.

The environment is the single source of truth so that the same code runs on a laptop and in
production; an optional TOML file (``hub.toml`` in the working folder, or the path in
``HUB_CONFIG``) may fill in what the environment leaves unset. Secrets are kept out of ``repr``
so that they never reach a log line or an error message.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_DATABASE_FILE = "hub.duckdb"
DEFAULT_RUN_TIMEOUT_SECONDS = 2 * 3600
DEFAULT_ERASURE_MAX_DELETES = 100


@dataclass(frozen=True)
class Settings:
    database_url: str
    home: Path
    erp_url: str | None = field(default=None, repr=False)
    webshop_url: str | None = None
    webshop_key: str | None = field(default=None, repr=False)
    webshop_secret: str | None = field(default=None, repr=False)
    loyalty_dir: str | None = None
    esp_url: str | None = None
    esp_key: str | None = field(default=None, repr=False)
    esp_list_id: str | None = None
    outbox_dir: str | None = None
    loyalty_inbox_dir: str | None = None
    pseudonym_key: str | None = field(default=None, repr=False)
    soft_opt_in: str | None = None
    audit_anchor: str | None = None
    run_timeout: str | None = None
    erasure_max_deletes: str | None = None
    match_shards: str | None = None
    executor: str | None = None
    dask_scheduler: str | None = None

    @property
    def state_dir(self) -> Path:
        """Where dlt keeps its pipeline folders (cursors are also restored from the database)."""
        return self.home / ".hub"

    @property
    def loyalty_inbox(self) -> str:
        """The loyalty vendor's inbox for the hub's files: a folder or an object-store URL."""
        if self.loyalty_inbox_dir:
            return self.loyalty_inbox_dir
        return f"{(self.outbox_dir or str(self.home / 'outbox')).rstrip('/')}/loyalty"

    @property
    def soft_opt_in_enabled(self) -> bool:
        """Whether existing customers may get email marketing without an explicit opt-in (off unless set)."""
        return (self.soft_opt_in or "").strip().lower() in {"1", "true", "yes", "on"}

    @property
    def run_timeout_seconds(self) -> float:
        """The overall limit of one pipeline run (``HUB_RUN_TIMEOUT`` seconds, two hours by default)."""
        return _positive(self.run_timeout, "HUB_RUN_TIMEOUT", DEFAULT_RUN_TIMEOUT_SECONDS)

    @property
    def erasure_ceiling(self) -> int:
        """How many records one erasure may ask the tools to delete before it stops and asks for confirmation."""
        return int(_positive(self.erasure_max_deletes, "HUB_ERASURE_MAX_DELETES", DEFAULT_ERASURE_MAX_DELETES))

    @property
    def shards(self) -> int:
        """How many independent steps compare the candidate pairs (``HUB_MATCH_SHARDS``, 1 by default)."""
        shards = _positive(self.match_shards, "HUB_MATCH_SHARDS", 1)
        if shards != int(shards):
            raise ConfigurationError("HUB_MATCH_SHARDS must be a whole number")
        return int(shards)

    def environment(self) -> dict[str, str]:
        """These settings as the ``HUB_*`` variables that load them again, for processes that run steps."""
        values = {f"HUB_{f.name.upper()}": getattr(self, f.name) for f in fields(self) if f.name != "home"}
        return {"HUB_HOME": str(self.home), **{k: str(v) for k, v in values.items() if v is not None}}

    def require(self, *names: str) -> None:
        """Fail with the names of the missing variables, never their values."""
        missing = [f"HUB_{n.upper()}" for n in names if not getattr(self, n)]
        if missing:
            raise ConfigurationError(f"missing configuration: {', '.join(missing)}")


class ConfigurationError(RuntimeError):
    """A setting the requested work needs is not configured."""


def _positive(text: str | None, name: str, default: float) -> float:
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigurationError(f"{name} must be a positive number")
    return value


def _file_values(home: Path, environ: dict[str, str]) -> dict[str, str]:
    path = Path(environ["HUB_CONFIG"]) if "HUB_CONFIG" in environ else home / "hub.toml"
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            return {str(k).lower(): str(v) for k, v in tomllib.load(handle).items()}
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{path} is not valid TOML: {error}") from None


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Settings from the environment, falling back to the config file, then to defaults."""
    environ = dict(os.environ if environ is None else environ)
    home = Path(environ.get("HUB_HOME", os.getcwd())).resolve()
    from_file = _file_values(home, environ)
    values: dict[str, str | None] = {}
    for spec in fields(Settings):
        if spec.name == "home":
            continue
        values[spec.name] = environ.get(f"HUB_{spec.name.upper()}") or from_file.get(spec.name)
    values["database_url"] = values["database_url"] or f"duckdb:///{home / DEFAULT_DATABASE_FILE}"
    return Settings(home=home, **values)
