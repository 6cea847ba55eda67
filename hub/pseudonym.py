"""The hub's secret key for pseudonyms (keyed hashes of identifiers).

Production sets ``HUB_PSEUDONYM_KEY`` (the same on every machine that runs the hub, kept in the
secret store). Without it the hub makes a random key once and keeps it in its state folder, which
is right for a laptop and for tests: every process of one hub home then agrees on the pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from hub.config import Settings
from quality.identifiers import keyed_hash

KEY_FILE = "pseudonym.key"


def pseudonym_key(settings: Settings) -> bytes:
    return key_from(settings.pseudonym_key, settings.state_dir)


def key_from(configured: str | None, state_dir: Path) -> bytes:
    """The configured key, else the one kept in (or made now for) the hub's state folder."""
    if configured:
        return configured.encode()
    path = state_dir / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of the same hub made it a moment ago
            pass
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def reference(settings: Settings, kind: str, value: object) -> str | None:
    """The pseudonym of one identifier (see ``quality.identifiers``)."""
    return keyed_hash(pseudonym_key(settings), kind, value)


def fingerprint_with(key: bytes):
    """A keyed fingerprint of one attribute's value: what a source said when a correction was made, kept
    without keeping the value (``hub.gdpr.rectification``)."""

    def fingerprint(attribute: str, value: object) -> str:
        return hmac.new(key, f"{attribute}={value}".encode(), hashlib.sha256).hexdigest()

    return fingerprint
