"""Opening the simulator's SQLite files the same way everywhere.

Generation writes with the journal and fsync off (a crash just means generating again); the
server and `advance` use the default rollback journal, whose writes change the main file's
mtime, which is what the server's listing cache keys on. No connection waits for the disk: a
simulated system that lost its last writes in a power cut is generated again, and a tool's
write should cost the hub a request, not an fsync.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def create(path: Path, schema: str) -> sqlite3.Connection:
    """A new, empty database at `path` (any old file is removed) with `schema` applied."""
    for leftover in (path, path.with_name(path.name + "-journal")):
        leftover.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-200000")
    conn.executescript(schema)
    conn.execute("BEGIN")
    return conn


def finish(conn: sqlite3.Connection, indexes: str = "") -> None:
    """Build the indexes (cheaper after the bulk insert than during it), commit and close."""
    if conn.in_transaction:
        conn.execute("COMMIT")
    if indexes:
        conn.executescript(indexes)
    conn.close()


def connect(path: Path) -> sqlite3.Connection:
    """A connection for reading and small writes (server requests, `advance`)."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=60000")
    conn.execute("PRAGMA synchronous=OFF")
    return conn
