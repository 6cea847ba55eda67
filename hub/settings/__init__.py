"""The hub's rule files (TOML beside this module), read in one place with errors that name file and line.

The pure layers take the rules as mappings; the hub reads them here: survivorship rules, and the other
areas' settings as they come. An operator may point at another file of the same shape.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from hub.config import ConfigurationError

FOLDER = Path(__file__).parent


def read_settings(name_or_path: str | Path) -> dict[str, Any]:
    """A settings file: a name in this folder (``"survivorship.toml"``) or a path; a clear error otherwise."""
    path = Path(name_or_path)
    if not path.is_absolute() and not path.exists():
        path = FOLDER / path
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigurationError(f"settings file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{path} is not valid TOML: {error}") from None
