"""The suppression list as the landing step uses it, and what an erasure adds to it."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from hub.schema import suppression
from hub.storage import HUB_SCHEMA, table_exists
from quality.identifiers import keyed_hash
from quality.suppression import Suppression


def load_suppression(connection: sa.Connection, key: bytes) -> Suppression:
    """Every suppressed identifier hash (an empty screen on a hub that has none yet)."""
    if not table_exists(connection, HUB_SCHEMA, "suppression"):
        return Suppression(key, frozenset())
    rows = connection.execute(sa.select(suppression.c.identifier_hash))
    return Suppression(key, frozenset(r[0] for r in rows))


def suppress(
    connection: sa.Connection, key: bytes, identifiers: Iterable[tuple[str, str]], request_id: str, now
) -> int:
    """Add the keyed hashes of ``(kind, value)`` identifiers; returns how many were new."""
    hashes = {(kind, h) for kind, value in identifiers if (h := keyed_hash(key, kind, value))}
    known = load_suppression(connection, key).hashes
    new = [(kind, h) for kind, h in sorted(hashes) if h not in known]
    for kind, h in new:
        connection.execute(
            sa.insert(suppression).values(
                identifier_hash=h, identifier_kind=kind, request_id=request_id, created_at=now
            )
        )
    return len(new)
