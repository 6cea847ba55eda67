"""The audit log: append-only, and tamper-evident because every entry is chained to the one before.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own canonical content,
so changing, inserting or removing an entry anywhere breaks every hash after it. ``verify`` walks
the chain and names the first entry that does not fit; anchoring the head hash elsewhere (printed by
``hub audit verify``) also exposes a log cut short at the end.

Entries name people only by pseudonym (``subject_ref``, a keyed hash) and hold no personal data in
their detail, so the log can outlive an erasure without being edited.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from hub.storage import HUB_SCHEMA

GENESIS = "0" * 64
TABLE = f"{HUB_SCHEMA}.audit_log"


def _canonical(seq: int, recorded_at: datetime, fields: dict[str, Any]) -> str:
    moment = recorded_at.astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps({"seq": seq, "recorded_at": moment, **fields}, sort_keys=True, separators=(",", ":"))


def _hash(previous: str, content: str) -> str:
    return hashlib.sha256(f"{previous}\n{content}".encode()).hexdigest()


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
    """Append one entry inside the caller's transaction; returns its sequence number.

    On PostgreSQL the table is locked for the rest of the transaction so that two writers cannot
    both chain onto the same predecessor; DuckDB has a single writer anyway.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE"))
    last = connection.execute(sa.text(f"SELECT seq, entry_hash FROM {TABLE} ORDER BY seq DESC LIMIT 1")).first()
    seq, previous = (last[0] + 1, last[1]) if last else (1, GENESIS)
    recorded_at = datetime.now(UTC)
    fields = {
        "actor": actor,
        "role": role,
        "action": action,
        "subject_ref": subject_ref,
        "purpose": purpose,
        "detail": json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), default=str),
    }
    connection.execute(
        sa.text(
            f"INSERT INTO {TABLE} (seq, recorded_at, actor, role, action, subject_ref, purpose, detail, "
            "prev_hash, entry_hash) VALUES (:seq, :recorded_at, :actor, :role, :action, :subject_ref, :purpose, "
            ":detail, :prev_hash, :entry_hash)"
        ),
        {
            "seq": seq,
            "recorded_at": recorded_at,
            **fields,
            "prev_hash": previous,
            "entry_hash": _hash(previous, _canonical(seq, recorded_at, fields)),
        },
    )
    return seq


@dataclass(frozen=True)
class Verification:
    entries: int
    head: str  # the last entry's hash: keep it elsewhere to detect a log cut short
    broken_at: int | None  # sequence number of the first entry that does not fit
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(connection: sa.Connection) -> Verification:
    """Recompute the chain from the first entry; stop at the first entry that does not fit."""
    result = connection.execute(
        sa.text(
            f"SELECT seq, recorded_at, actor, role, action, subject_ref, purpose, detail, prev_hash, entry_hash "
            f"FROM {TABLE} ORDER BY seq"
        )
    )
    previous, expected_seq, count = GENESIS, 1, 0
    for row in result.mappings():
        count += 1
        if row["seq"] != expected_seq:
            return Verification(count, previous, row["seq"], f"entry {expected_seq} is missing")
        if row["prev_hash"] != previous:
            return Verification(count, previous, row["seq"], "does not chain to the entry before it")
        recorded_at = row["recorded_at"]
        if recorded_at.tzinfo is None:
            recorded_at = recorded_at.replace(tzinfo=UTC)
        fields = {k: row[k] for k in ("actor", "role", "action", "subject_ref", "purpose", "detail")}
        if _hash(previous, _canonical(row["seq"], recorded_at, fields)) != row["entry_hash"]:
            return Verification(count, previous, row["seq"], "content differs from what was recorded")
        previous, expected_seq = row["entry_hash"], expected_seq + 1
    return Verification(count, previous, None, None)
