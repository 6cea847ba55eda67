"""The publishing tables: sync state, the run's plan (outbox), the sync log, runs, destinations and files.

Exactly once across crashes rests on three writes, each in its own transaction:

1. ``begin_run``: the whole plan goes into ``publish_outbox`` (status ``pending``) before anything is
   sent; the previous run's outbox is dropped (what it did not finish is still a difference from the
   state, and its unconfirmed items are read first, see ``unconfirmed``).
2. ``mark``: after a tool answered, its items get their status, the confirmed ones change
   ``publish_state``, and every answer is a line of ``sync_log``, together.
3. ``finish_run``: the run's status and counts.

The sync log names people only by keyed pseudonym: the tool's key as a record (``esp:<member id>``), an
ad list's customer as a customer ID, under the hub's pseudonym key; never a key or contact in clear.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from exports.publishing.plan import ADOPT, DELIVERED_COLUMNS, RELEASE, REMOVE
from hub import storage
from hub.schema import publish_destination, publish_file, publish_outbox, publish_run, publish_state, sync_log
from quality.identifiers import keyed_hash

PENDING, SENT, ABSENT, REJECTED, FAILED = "pending", "sent", "absent", "rejected", "failed"
SETTLED = (SENT, ABSENT)  # the tool now holds what the hub asked for
OUTBOX_COLUMNS = [column.name for column in publish_outbox.columns]
CHUNK = 2000  # keys per IN list (PostgreSQL takes at most 65,535 parameters a statement)
_SEPARATOR = "|"  # between audience and target in a pair key: audience names never hold it


def delivered(connection: sa.Connection, destinations: Iterable[str]) -> dict[str, pd.DataFrame]:
    """What each destination's tool last confirmed (DELIVERED_COLUMNS), by destination (empty for one never
    synced): one read of the whole state, which DuckDB hands over natively (a read per destination, with its
    parameter, built Python rows)."""
    state = publish_state.c
    frame = storage.read_frame(
        connection,
        sa.select(state.destination, state.audience, state.target, state.payload, state.adopted).order_by(
            state.destination, state.audience, state.target
        ),
    )
    frame = frame.astype({"destination": str, "audience": str, "target": str, "payload": str, "adopted": bool})
    return {
        name: frame.loc[frame["destination"] == name, DELIVERED_COLUMNS].reset_index(drop=True) for name in destinations
    }


def delivered_before(connection: sa.Connection, destination: str) -> int | None:
    """How many memberships the destination held after its last run (None: it was never synced)."""
    row = connection.execute(
        sa.select(publish_destination.c.delivered_rows).where(publish_destination.c.destination == destination)
    ).first()
    return None if row is None else int(row[0])


def unconfirmed(connection: sa.Connection) -> pd.DataFrame:
    """Items an earlier run planned that no tool confirmed: destination, audience, target, operation."""
    outbox = publish_outbox.c
    return storage.read_frame(
        connection,
        sa.select(outbox.destination, outbox.audience, outbox.target, outbox.operation).where(
            outbox.status.in_([PENDING, FAILED])
        ),
    )


def last_files(connection: sa.Connection, destination: str) -> dict[str, tuple[str, int]]:
    """The last file written per file key of the destination: (SHA-256, lines)."""
    files = publish_file.c
    rows = connection.execute(
        sa.select(files.file_key, files.sha256, files.lines).where(files.destination == destination)
    )
    return {key: (sha, int(lines)) for key, sha, lines in rows}


def begin_run(
    connection: sa.Connection,
    run_id: str,
    plans: list[tuple[str, str, pd.DataFrame]],
    forced: bool,
    summary: dict[str, Any],
    now: datetime,
) -> None:
    """Write the run and its plan before anything is sent; ``plans`` is (destination, tool, items) per destination.

    Adoptions and releases change only the hub's state (the tool held those memberships before the hub),
    so they are applied here; everything else waits in the outbox as ``pending``.
    """
    connection.execute(
        sa.update(publish_run).where(publish_run.c.status == "sending").values(status="interrupted", finished_at=now)
    )
    connection.execute(sa.delete(publish_outbox))
    connection.execute(
        sa.insert(publish_run).values(
            run_id=run_id, started_at=now, status="sending", forced=forced, summary=json.dumps(summary, sort_keys=True)
        )
    )
    for destination, tool, items in plans:
        sendable = items[~items["operation"].isin((ADOPT, RELEASE))]
        outbox = pd.DataFrame(
            {
                "run_id": run_id,
                "destination": destination,
                "target": sendable["target"].to_numpy(),
                "audience": sendable["audience"].to_numpy(),
                "tool": tool,
                "operation": sendable["operation"].to_numpy(),
                "payload": sendable["payload"].to_numpy(),
                "status": PENDING,
                "attempts": 0,
                "error": None,
                "updated_at": now,
            }
        )
        storage.insert_frame(connection, "publish_outbox", outbox)
        released = items[items["operation"] == RELEASE]
        _delete_state(connection, destination, released)
        adopted = items[items["operation"] == ADOPT]
        _insert_state(connection, destination, tool, adopted, adopted=True, run_id=run_id, now=now)
        known = delivered_before(connection, destination)
        if known is None:
            connection.execute(
                sa.insert(publish_destination).values(
                    destination=destination,
                    tool=tool,
                    first_run_id=run_id,
                    last_run_id=run_id,
                    delivered_rows=0,
                    updated_at=now,
                )
            )
        _count_delivered(connection, destination, run_id, now)


def mark(
    connection: sa.Connection,
    run_id: str,
    destination: str,
    tool: str,
    rows: pd.DataFrame,
    key: bytes,
    now: datetime,
) -> None:
    """Record the tool's answers for ``rows`` (audience, target, operation, payload, status, attempts, error).

    Confirmed additions and changes enter the state, confirmed removals leave it; the outbox items get
    their status; every answer is a sync log line under the target's pseudonym.
    """
    if rows.empty:
        return
    scope = sa.and_(publish_outbox.c.run_id == run_id, publish_outbox.c.destination == destination)
    _delete_pairs(connection, publish_outbox, scope, rows)
    outbox = rows.assign(run_id=run_id, destination=destination, tool=tool, updated_at=now)
    storage.insert_frame(connection, "publish_outbox", outbox[OUTBOX_COLUMNS])
    settled = rows[rows["status"].isin(SETTLED)]
    _delete_state(connection, destination, settled)
    written = settled[settled["operation"] != REMOVE]
    _insert_state(connection, destination, tool, written, adopted=False, run_id=run_id, now=now)
    log = pd.DataFrame(
        {
            "run_id": run_id,
            "destination": destination,
            "tool": tool,
            "audience": rows["audience"].to_numpy(),
            "target_ref": [target_ref(key, tool, t) for t in rows["target"]],
            "operation": rows["operation"].to_numpy(),
            "status": rows["status"].to_numpy(),
            "attempts": rows["attempts"].astype(int).to_numpy(),
            "error": rows["error"].to_numpy(),
            "logged_at": now,
        }
    )
    storage.insert_frame(connection, "sync_log", log)


def record_file(
    connection: sa.Connection,
    destination: str,
    file_key: str,
    name: str,
    sha256: str,
    lines: int,
    run_id: str,
    now: datetime,
) -> None:
    storage.replace_row(
        connection,
        publish_file,
        {"destination": destination, "file_key": file_key},
        {"file_name": name, "sha256": sha256, "lines": lines, "run_id": run_id, "written_at": now},
    )


def finish_run(
    connection: sa.Connection, run_id: str, destinations: list[str], status: str, summary: dict[str, Any], now: datetime
) -> None:
    """The run's status and counts, and how many memberships each destination holds now (its state is
    counted at the start and the end of a run, not after every answer)."""
    for destination in destinations:
        _count_delivered(connection, destination, run_id, now)
    connection.execute(
        sa.update(publish_run)
        .where(publish_run.c.run_id == run_id)
        .values(status=status, finished_at=now, summary=json.dumps(summary, sort_keys=True))
    )


def recent_log(connection: sa.Connection, limit: int) -> pd.DataFrame:
    """The newest sync log lines, newest first."""
    log = sync_log.c
    shown = (log.logged_at, log.run_id, log.destination, log.audience, log.operation, log.status, log.attempts)
    return storage.read_frame(
        connection,
        sa.select(*shown, log.error, log.target_ref).order_by(log.logged_at.desc(), log.run_id.desc()).limit(limit),
    )


def target_ref(key: bytes, tool: str, target: str) -> str | None:
    """The pseudonym of a tool's key (an ad list's target is a customer ID)."""
    if tool == "ads":
        return keyed_hash(key, "customer", target)
    return keyed_hash(key, "record", f"{tool}:{target}")


def _insert_state(
    connection: sa.Connection,
    destination: str,
    tool: str,
    items: pd.DataFrame,
    *,
    adopted: bool,
    run_id: str,
    now: datetime,
) -> None:
    state = pd.DataFrame(
        {
            "destination": destination,
            "target": items["target"].to_numpy(),
            "audience": items["audience"].to_numpy(),
            "tool": tool,
            "payload": items["payload"].to_numpy(),
            "adopted": adopted,
            "run_id": run_id,
            "delivered_at": now,
        }
    )
    storage.insert_frame(connection, "publish_state", state)


def _delete_state(connection: sa.Connection, destination: str, items: pd.DataFrame) -> None:
    _delete_pairs(connection, publish_state, publish_state.c.destination == destination, items)


def _delete_pairs(connection: sa.Connection, table: sa.Table, scope, items: pd.DataFrame) -> None:
    """Delete the rows of ``items``' exact (audience, target) pairs within ``scope``, a chunk at a time."""
    pair = table.c.audience + _SEPARATOR + table.c.target
    for targets, pairs in _chunks(items):
        connection.execute(sa.delete(table).where(scope, table.c.target.in_(targets), pair.in_(pairs)))


def _chunks(items: pd.DataFrame) -> Iterator[tuple[list[str], list[str]]]:
    pairs = list(dict.fromkeys(zip(items["audience"], items["target"], strict=True)))
    for start in range(0, len(pairs), CHUNK):
        chunk = pairs[start : start + CHUNK]
        yield sorted({t for _, t in chunk}), [f"{a}{_SEPARATOR}{t}" for a, t in chunk]


def _count_delivered(connection: sa.Connection, destination: str, run_id: str, now: datetime) -> None:
    held = sa.select(sa.func.count()).where(publish_state.c.destination == destination).scalar_subquery()
    connection.execute(
        sa.update(publish_destination)
        .where(publish_destination.c.destination == destination)
        .values(last_run_id=run_id, updated_at=now, delivered_rows=held)
    )
