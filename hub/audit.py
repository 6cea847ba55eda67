"""The audit log: append-only, and tamper-evident because every entry is chained to the one before.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own canonical content,
so changing, inserting or removing an entry anywhere breaks every hash after it. ``verify`` walks
the chain and names the first entry that does not fit.

A chain alone does not stop someone who can write the table: they can recompute every hash after
their change. So the head is also kept outside the database, signed with the hub's secret: after the
hub writes entries it checks the chain from the last anchor on and moves the anchor (``anchor``) to
the new head: a file (``$HUB_HOME/.hub/audit-anchor.json``, or any fsspec URL in ``HUB_AUDIT_ANCHOR``:
production points it at storage the database's writers cannot reach). Rewriting or cutting the log
before the anchored entry then no longer fits the anchor, and a new anchor cannot be forged without
the key. ``verify`` checks both.

Entries name people only by pseudonym (``subject_ref``, a keyed hash) and hold no personal data in
their detail, so the log can outlive an erasure without being edited.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import fsspec
import sqlalchemy as sa

from hub import storage
from hub.config import Settings
from hub.pseudonym import pseudonym_key
from hub.schema import audit_log

GENESIS = "0" * 64
TABLE = audit_log.fullname
ANCHOR_FILE = "audit-anchor.json"
log = logging.getLogger(__name__)


def _canonical(seq: int, recorded_at: datetime, fields: dict[str, Any]) -> str:
    moment = recorded_at.astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps({"seq": seq, "recorded_at": moment, **fields}, sort_keys=True, separators=(",", ":"))


def _hash(previous: str, content: str) -> str:
    return hashlib.sha256(f"{previous}\n{content}".encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """What one audit entry says; its sequence number, time and hashes are given when it is appended."""

    actor: str
    role: str
    action: str
    subject_ref: str | None = None
    purpose: str | None = None
    detail: dict[str, Any] | None = None


def record(
    connection: sa.Connection,
    *,
    actor: str,
    role: str,
    action: str,
    subject_ref: str | None = None,
    purpose: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry inside the caller's transaction; returns its sequence number."""
    return append(connection, [Entry(actor, role, action, subject_ref, purpose, detail)])[0]


def append(connection: sa.Connection, entries: Sequence[Entry]) -> list[int]:
    """Append ``entries``, chained in their order, inside the caller's transaction; their sequence numbers.

    On PostgreSQL the table is locked for the rest of the transaction so that two writers cannot
    both chain onto the same predecessor. DuckDB has a single writing process; within it, two open
    transactions appending at once would collide on the sequence number, which is why a server's
    entries go through one ``Recorder``.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE"))
    log = audit_log.c
    last = connection.execute(sa.select(log.seq, log.entry_hash).order_by(log.seq.desc()).limit(1)).first()
    seq, previous = (last[0], last[1]) if last else (0, GENESIS)
    rows = []
    for entry in entries:
        seq, recorded_at = seq + 1, datetime.now(UTC)
        fields = {
            "actor": entry.actor,
            "role": entry.role,
            "action": entry.action,
            "subject_ref": entry.subject_ref,
            "purpose": entry.purpose,
            "detail": json.dumps(entry.detail or {}, sort_keys=True, separators=(",", ":"), default=str),
        }
        previous, prev_hash = _hash(previous, _canonical(seq, recorded_at, fields)), previous
        rows.append({"seq": seq, "recorded_at": recorded_at, **fields, "prev_hash": prev_hash, "entry_hash": previous})
    if rows:
        connection.execute(sa.insert(audit_log), rows)
    return [row["seq"] for row in rows]


class AuditUnavailable(RuntimeError):
    """The audit log could not be written, so the read it was to record is not answered."""


@dataclass
class _Waiting:
    entries: Sequence[Entry]
    done: threading.Event = field(default_factory=threading.Event)
    seqs: list[int] = field(default_factory=list)
    failed: bool = False


class Recorder:
    """Group commit for a server's audit entries: every entry waiting is appended by one thread in one
    transaction, and each caller returns once its entry is committed.

    Every answered read must be in the log, so a request waits for its entry's commit before it answers.
    Written by the request itself, each entry is a transaction of its own that must chain onto the one
    before: on PostgreSQL they queue on the table lock one commit at a time, on DuckDB they collide. One
    writer takes whatever entries have arrived while it committed the last batch, chains them under one
    lock and commits them together, so that 50 concurrent readers cost a few commits, not 50 in a row.
    ``exclusive`` is held around each batch (on DuckDB the process's one-writer lock, shared with the
    server's other writes); ``after_commit`` runs after each batch (moving the signed anchor).
    """

    def __init__(
        self,
        engine: sa.Engine,
        after_commit: Callable[[], Any],
        exclusive: AbstractContextManager[Any] | None = None,
        batch: int = 1000,
    ) -> None:
        self.engine, self.after_commit, self.batch = engine, after_commit, batch
        self.exclusive = exclusive or nullcontext()
        self._queue: deque[_Waiting] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._writer = threading.Thread(target=self._write, name="audit-recorder", daemon=True)
        self._writer.start()

    def record(self, entries: Sequence[Entry]) -> list[int]:
        """Append ``entries`` (one after another, in this order) and wait for their commit; their sequence
        numbers. AuditUnavailable if the log could not be written."""
        waiting = _Waiting(entries)
        with self._ready:
            if self._closed:
                raise AuditUnavailable("the audit log is closed: the server is stopping")
            self._queue.append(waiting)
            self._ready.notify()
        waiting.done.wait()
        if waiting.failed:
            raise AuditUnavailable("the audit log could not be written; the read was not answered")
        return waiting.seqs

    def close(self) -> None:
        """Commit what is waiting, then stop the writer."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._writer.join()

    def _write(self) -> None:
        """The writer's loop. It keeps one connection open between batches (no checkout, no reset of a pooled
        one per batch) and opens a fresh one after a failure."""
        connection: sa.Connection | None = None
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    if connection is not None:
                        connection.close()
                    return
                batch, size = [], 0
                while self._queue and (not batch or size + len(self._queue[0].entries) <= self.batch):
                    batch.append(self._queue.popleft())
                    size += len(batch[-1].entries)
            try:
                connection = connection or self.engine.connect()
                with self.exclusive, connection.begin():
                    seqs = iter(append(connection, [entry for waiting in batch for entry in waiting.entries]))
            except Exception:
                log.exception("audit entries could not be written; their reads are refused")
                for waiting in batch:
                    waiting.failed = True
                if connection is not None:
                    connection.close()
                connection = None
            else:
                for waiting in batch:
                    waiting.seqs = [next(seqs) for _ in waiting.entries]
            for waiting in batch:
                waiting.done.set()
            try:
                self.after_commit()
            except Exception:
                log.exception("the audit anchor could not be moved; the next write tries again")


@dataclass(frozen=True)
class Anchor:
    """The head of the log as the hub last checked it, signed with the hub's key."""

    seq: int
    head: str
    signature: str

    @staticmethod
    def signed(key: bytes, seq: int, head: str) -> Anchor:
        return Anchor(seq, head, _signature(key, seq, head))

    def genuine(self, key: bytes) -> bool:
        return hmac.compare_digest(self.signature, _signature(key, self.seq, self.head))


def _signature(key: bytes, seq: int, head: str) -> str:
    return hmac.new(key, f"audit-anchor\n{seq}\n{head}".encode(), hashlib.sha256).hexdigest()


def read_anchor(location: str) -> Anchor | None:
    """The anchor kept at ``location`` (a path or an fsspec URL), or None when none was written yet."""
    fs, path = fsspec.core.url_to_fs(location)
    if not fs.exists(path):
        return None
    held = json.loads(fs.cat_file(path))
    return Anchor(int(held["seq"]), str(held["head"]), str(held["signature"]))


def _write_anchor(location: str, anchor: Anchor) -> None:
    """Replace the anchor whole: a reader sees the old one or the new one, never half of either. The staged copy
    is named per process, as the API's worker processes (PostgreSQL) each move the anchor."""
    fs, path = fsspec.core.url_to_fs(location)
    parent = path.rsplit("/", 1)[0]
    if parent and parent != path:
        fs.makedirs(parent, exist_ok=True)
    staged = f"{path}.{os.getpid()}.writing"
    fs.pipe_file(staged, json.dumps({"seq": anchor.seq, "head": anchor.head, "signature": anchor.signature}).encode())
    fs.mv(staged, path)


@dataclass(frozen=True)
class Verification:
    entries: int
    head: str  # the last entry's hash: keep it elsewhere to detect a log cut short
    broken_at: int | None  # sequence number of the first entry that does not fit
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(connection: sa.Connection, key: bytes | None = None, anchor: Anchor | None = None) -> Verification:
    """Recompute the chain from the first entry; stop at the first entry that does not fit.

    With ``key`` and ``anchor``, the anchor must be genuine and the log must hold the anchored entry
    with the anchored hash: a log rewritten (hashes recomputed) or cut short before it does not.
    """
    result = _walk(connection, 1, GENESIS)
    if not result.ok or anchor is None:
        return result
    return _against_anchor(connection, result, key, anchor)


def _against_anchor(connection: sa.Connection, result: Verification, key: bytes | None, anchor: Anchor) -> Verification:
    if key is None or not anchor.genuine(key):
        return Verification(result.entries, result.head, anchor.seq, "the anchor's signature is not the hub's")
    anchored = connection.execute(sa.select(audit_log.c.entry_hash).where(audit_log.c.seq == anchor.seq))
    found = anchored.scalar()
    if found is None:
        return Verification(result.entries, result.head, anchor.seq, "the log ends before the anchored entry")
    if found != anchor.head:
        return Verification(result.entries, result.head, anchor.seq, "the anchored entry was rewritten")
    return result


def anchor(connection: sa.Connection, key: bytes, location: str) -> Verification:
    """Check the entries since the last anchor and move the anchor to the head (only if they fit).

    Called by the hub after it wrote entries; cheap because only the entries since the anchor are read.
    """
    current = read_anchor(location)
    if current is None:
        result = _walk(connection, 1, GENESIS)
    elif not current.genuine(key):
        head = connection.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar() or 0
        return Verification(head, "", current.seq, "the anchor's signature is not the hub's")
    else:
        result = _against_anchor(connection, _walk(connection, current.seq + 1, current.head), key, current)
    if result.ok and result.entries and (current is None or result.entries > current.seq):
        _write_anchor(location, Anchor.signed(key, result.entries, result.head))
    return result


def _walk(connection: sa.Connection, first: int, previous: str) -> Verification:
    """The chain from entry ``first`` on, ``previous`` being the hash of the entry before it; ``entries``
    counts every entry up to the last one checked (so it is the head's sequence number)."""
    result = connection.execute(sa.select(audit_log).where(audit_log.c.seq >= first).order_by(audit_log.c.seq))
    expected_seq = first
    for row in result.mappings():
        if row["seq"] != expected_seq:
            return Verification(expected_seq - 1, previous, row["seq"], f"entry {expected_seq} is missing")
        if row["prev_hash"] != previous:
            return Verification(expected_seq, previous, row["seq"], "does not chain to the entry before it")
        recorded_at = row["recorded_at"]
        if recorded_at.tzinfo is None:
            recorded_at = recorded_at.replace(tzinfo=UTC)
        fields = {k: row[k] for k in ("actor", "role", "action", "subject_ref", "purpose", "detail")}
        if _hash(previous, _canonical(row["seq"], recorded_at, fields)) != row["entry_hash"]:
            return Verification(expected_seq, previous, row["seq"], "content differs from what was recorded")
        previous, expected_seq = row["entry_hash"], expected_seq + 1
    return Verification(expected_seq - 1, previous, None, None)


def anchor_location(settings: Settings) -> str:
    """Where the signed head is kept: ``HUB_AUDIT_ANCHOR`` (a path or fsspec URL), else the hub's state folder."""
    return settings.audit_anchor or str(settings.state_dir / ANCHOR_FILE)


def signing_key(settings: Settings) -> bytes:
    """The anchor's signing key, derived from the hub's secret (one secret to keep, not two)."""
    return hmac.new(pseudonym_key(settings), b"audit-anchor", hashlib.sha256).digest()


def keep_anchored(settings: Settings) -> Verification:
    """After the hub wrote entries: check them and move the anchor to the new head."""
    with storage.engine(settings.database_url).connect() as connection:
        return anchor(connection, signing_key(settings), anchor_location(settings))


def verify_anchored(settings: Settings) -> tuple[Verification, Anchor | None]:
    """The whole chain checked against the anchor, and the anchor it was checked against."""
    held = read_anchor(anchor_location(settings))
    with storage.engine(settings.database_url).connect() as connection:
        return verify(connection, signing_key(settings), held), held
