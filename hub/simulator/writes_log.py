"""The `writes` table of the webshop and email-platform stores: every write request the API received.

Tests compare it with what a tool meant to send. A write is logged with the change it made (in the
same transaction) or, when refused, with the error status it was answered; a write to a route the
server does not serve is logged with its 404. Faults injected by the server's gate are not logged:
the request never reached the API. The path is logged without its query string, and nothing is
written to any log file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hub.simulator import sqlite_store

WRITES_TABLE = """
CREATE TABLE writes (
  id          INTEGER PRIMARY KEY,
  method      TEXT NOT NULL,
  path        TEXT NOT NULL,
  body        TEXT NOT NULL,
  received_at TEXT NOT NULL,
  status      INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class ReceivedWrite:
    """One logged write request: method, path (no query string), body as sent, wall-clock UTC time, status."""

    method: str
    path: str
    body: str
    received_at: str
    status: int


def record_write(conn: sqlite3.Connection, method: str, path: str, body: str, status: int) -> None:
    """Log a write request in the `writes` table: path without query string, wall-clock UTC time."""
    received = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    conn.execute(
        "INSERT INTO writes (method, path, body, received_at, status) VALUES (?,?,?,?,?)",
        (method, path, body, received, status),
    )


def received_writes(store: Path) -> list[ReceivedWrite]:
    """The writes logged in a system's store (e.g. `out_dir / webshop.FILE`), in the order received."""
    conn = sqlite_store.connect(store)
    try:
        rows = conn.execute("SELECT method, path, body, received_at, status FROM writes ORDER BY id").fetchall()
    finally:
        conn.close()
    return [ReceivedWrite(*row) for row in rows]
