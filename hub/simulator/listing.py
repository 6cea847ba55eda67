"""Paged listings over the simulator's SQLite stores without O(offset) page reads.

Both APIs page by number (page/per_page, offset/count). Skipping N rows in SQLite costs O(N),
which makes a full read of 600k orders quadratic. Instead the sorted keys of a filtered listing
are computed once and kept until the store changes: a write by this server bumps a counter, and a
write by another process (`advance`) changes the file's mtime or size.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from hub.simulator import sqlite_store, writes_log


class Store:
    """One SQLite file of the simulator, with a small cache of listing keys."""

    def __init__(self, path: Path, capacity: int = 32) -> None:
        self.path = path
        self._capacity = capacity
        self._writes = 0
        self._lock = threading.Lock()
        self._writer = threading.Lock()
        self._cache: OrderedDict[tuple, tuple[tuple, np.ndarray]] = OrderedDict()

    def connect(self) -> sqlite3.Connection:
        return sqlite_store.connect(self.path)

    def record_refused(self, method: str, path: str, body: str, status: int) -> None:
        """Log a write request that was answered with an error (accepted ones are logged with their change)."""
        conn = self.connect()
        try:
            writes_log.record_write(conn, method, path, body, status)
        finally:
            conn.close()

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A connection in an immediate write transaction: committed when the block ends normally,
        rolled back when it raises; either way listings are told the store changed.

        This server's writers queue here, one at a time: left to SQLite, concurrent writers poll its
        lock with sleeps that grow to 100 ms, and a publisher's parallel requests spent most of their
        time asleep. Another process (``advance``) still waits through SQLite's busy timeout."""
        with self._writer:
            conn = self.connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.close()
                self.changed()

    def changed(self) -> None:
        """Called after this server committed a write."""
        with self._lock:
            self._writes += 1

    def _version(self) -> tuple:
        stat = self.path.stat()
        return (stat.st_mtime_ns, stat.st_size, self._writes)

    def keys(self, conn: sqlite3.Connection, query: str, params: tuple) -> np.ndarray:
        """The integer keys `query` selects, in its order, from the cache while the store is unchanged."""
        version = self._version()
        entry = (query, params)
        with self._lock:
            hit = self._cache.get(entry)
            if hit is not None and hit[0] == version:
                self._cache.move_to_end(entry)
                return hit[1]
        keys = np.fromiter((row[0] for row in conn.execute(query, params)), dtype=np.int64)
        with self._lock:
            self._cache[entry] = (version, keys)
            self._cache.move_to_end(entry)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return keys

    def documents(self, conn: sqlite3.Connection, table: str, key: str, keys: list[int]) -> list[str]:
        """The stored JSON documents of `keys`, in the order given."""
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        found = dict(conn.execute(f"SELECT {key}, doc FROM {table} WHERE {key} IN ({marks})", keys))
        return [found[k] for k in keys if k in found]
