"""One writer at a time: pipeline runs and data-subject requests exclude each other on every store.

A run reads the suppression list when its landing step starts and writes golden records much later;
an erasure committed in between would be undone by the run (the person landed again, a new golden
record built from data read before the request). So a run holds the hub's lock from start to end,
and every request that changes data takes the same lock first: it waits for the run, the run never
sees half of it. Two runs at once are refused in the same way instead of failing half-way inside
DuckDB's own file lock.

PostgreSQL: a session advisory lock, which every machine running the hub against the database sees.
DuckDB: an OS file lock beside the database file (``hub.duckdb.lock``); the file beside it
(``.holder``) says who holds it, so that the refusal can name the run or request and its start.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock, Timeout
from sqlalchemy.engine import make_url

from hub import storage

LOCK_KEY = 20_261_123  # PostgreSQL advisory lock key shared by runs and requests
POLL_SECONDS = 0.5
Notice = Callable[[str], None]


class Busy(RuntimeError):
    """Another run or request holds the hub's lock; the message says which and since when."""


def lock_path(url: str) -> Path | None:
    """The lock file of an embedded database (None for PostgreSQL and for an in-memory DuckDB)."""
    database = make_url(url).database or ""
    if not storage.is_duckdb(url) or database in ("", ":memory:"):
        return None
    return Path(database).resolve().with_name(Path(database).name + ".lock")


_held = threading.local()  # the URLs whose lock this thread holds: taking it again inside is a no-op


@contextmanager
def exclusive(url: str, holder: str, *, wait: float = 0.0, notice: Notice | None = None) -> Iterator[None]:
    """Hold the hub's lock as ``holder`` (e.g. "hub run", "erasure DSR-...") for the block.

    ``wait`` is how many seconds to wait for another holder (``float('inf')`` for as long as it takes);
    past it ``Busy`` names the holder. ``notice`` is told once when the lock must be waited for. A
    thread that holds the lock already (a one-step request around its own steps) just goes on. The holder,
    the one writer, keeps an embedded database open for the block (``storage.kept_open``).
    """
    held = _held.__dict__.setdefault("urls", set())
    if url in held:
        yield
        return
    held.add(url)
    try:
        with _acquired(url, holder, wait, notice), storage.kept_open(url):  # the one writer keeps its file open
            yield
    finally:
        held.discard(url)


@contextmanager
def _acquired(url: str, holder: str, wait: float, notice: Notice | None) -> Iterator[None]:
    path = lock_path(url)
    if path is not None:
        with _file_lock(path, holder, wait, notice):
            yield
    elif storage.is_duckdb(url):
        yield  # an in-memory database lives in this process only
    else:
        with _advisory_lock(url, holder, wait, notice):
            yield


def holder(url: str) -> str:
    """Who holds the hub's lock now ('' when nobody does): for a status line, and for tests."""
    path = lock_path(url)
    if path is not None:
        return _read_holder(path.with_name(path.name + ".holder"))
    if storage.is_duckdb(url):
        return ""
    with storage.engine(url).connect() as connection:
        return _advisory_holder(connection)


@contextmanager
def _file_lock(path: Path, holder: str, wait: float, notice: Notice | None) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), thread_local=False)
    info = path.with_name(path.name + ".holder")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if wait <= 0:
            raise Busy(_busy_message(_read_holder(info))) from None
        if notice:
            notice(f"waiting for {_read_holder(info) or 'another holder'} to finish")
        try:
            lock.acquire(timeout=-1 if wait == float("inf") else wait)
        except Timeout:
            raise Busy(_busy_message(_read_holder(info))) from None
    try:
        info.write_text(json.dumps({"holder": holder, "pid": os.getpid(), "since": _now()}))
        yield
    finally:
        info.unlink(missing_ok=True)
        lock.release()


def _read_holder(info: Path) -> str:
    try:
        held = json.loads(info.read_text())
    except (OSError, ValueError):
        return ""
    return f"{held.get('holder', '?')} (process {held.get('pid', '?')}, since {held.get('since', '?')})"


@contextmanager
def _advisory_lock(url: str, holder: str, wait: float, notice: Notice | None) -> Iterator[None]:
    with storage.engine(url).connect() as connection:
        connection.execute(sa.text("SELECT set_config('application_name', :n, false)"), {"n": f"hub: {holder}"[:63]})
        deadline = time.monotonic() + wait
        told = False
        while not connection.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
            if time.monotonic() >= deadline:
                raise Busy(_busy_message(_advisory_holder(connection)))
            if notice and not told:
                notice(f"waiting for {_advisory_holder(connection) or 'another holder'} to finish")
                told = True
            time.sleep(POLL_SECONDS)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            connection.commit()


def _advisory_holder(connection: sa.Connection) -> str:
    row = connection.execute(
        sa.text(
            "SELECT a.application_name, a.pid, a.backend_start FROM pg_locks l JOIN pg_stat_activity a "
            "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objid = :k AND l.granted "
            # advisory locks are per database; other hubs on the same server hold their own
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1"
        ),
        {"k": LOCK_KEY},
    ).first()
    if row is None:
        return ""
    name = (row[0] or "").removeprefix("hub: ") or "a hub process"
    return f"{name} (server process {row[1]})"


def _busy_message(holder: str) -> str:
    return (
        f"the hub's database is busy: {holder or 'another run or request'} holds it. "
        "Wait for it to finish (or pass --wait)."
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
