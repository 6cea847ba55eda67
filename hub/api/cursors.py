"""Opaque, signed cursors: where a client's last page of a feed ended.

A cursor holds the position (the last key the client got) together with the feed and audience it belongs
to, as base64url JSON, followed by an HMAC of that text under a key derived from the hub's secret. A client
can neither edit a cursor into another position nor carry it to another feed or audience unnoticed: a
cursor that does not verify is a 400 naming nothing of its content, never an error deep in a query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from fastapi import HTTPException

from hub.config import Settings
from hub.pseudonym import pseudonym_key

MAC_BYTES = 16
MAX_CURSOR_CHARS = 512  # far above any cursor the hub writes; longer text is refused before it is decoded


def _text(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _data(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Cursors:
    """Writes and checks the cursors of one hub (the key is derived once, on first use)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._key: bytes | None = None

    def _mac(self, payload: bytes) -> bytes:
        if self._key is None:
            self._key = hmac.new(pseudonym_key(self.settings), b"api-cursor", hashlib.sha256).digest()
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:MAC_BYTES]

    def write(self, feed: str, audience: str, *position: str) -> str:
        payload = json.dumps([feed, audience, *position], separators=(",", ":")).encode()
        return f"{_text(payload)}.{_text(self._mac(payload))}"

    def read(self, cursor: str, feed: str, audience: str, size: int) -> list[str]:
        """The ``size`` parts of the position in ``cursor``; 400 unless the hub wrote it for this feed and audience."""
        encoded, _, mac = cursor.partition(".")
        try:
            payload, signature = _data(encoded), _data(mac)
        except (binascii.Error, ValueError):
            raise HTTPException(400, "invalid cursor: pass back the next_cursor of an answer unchanged") from None
        if not hmac.compare_digest(signature, self._mac(payload)):
            raise HTTPException(400, "invalid cursor: pass back the next_cursor of an answer unchanged")
        parts = json.loads(payload)
        if parts[:2] != [feed, audience] or len(parts) != size + 2:
            raise HTTPException(400, "invalid cursor: it was written for another feed or audience")
        return parts[2:]
