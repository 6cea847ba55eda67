"""Where the publishing configuration lives: ``HUB_PUBLISHING`` names a file, else the one beside this module."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from exports.publishing.config import ConfigError, PublishingConfig, load
from hub.config import ConfigurationError

ENVIRONMENT_VARIABLE = "HUB_PUBLISHING"
DEFAULT_FILE = Path(__file__).with_name("publishing.toml")


def publishing_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ[ENVIRONMENT_VARIABLE]) if environ.get(ENVIRONMENT_VARIABLE) else DEFAULT_FILE


def load_publishing(environ: Mapping[str, str] | None = None) -> PublishingConfig:
    """The configuration, checked whole; a configuration error (exit 2) naming file, line and key otherwise."""
    try:
        return load(publishing_path(environ))
    except ConfigError as error:
        raise ConfigurationError(f"publishing configuration ({ENVIRONMENT_VARIABLE}): {error}") from None
