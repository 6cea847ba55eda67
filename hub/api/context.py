"""What every router of the API shares: the client behind a bearer token, the purpose of a read, and the
one read path (through the role's view, written to the audit log with its purpose).

Every call names its client by a bearer token (the client's access role comes with it) and every read
of personal data names its purpose in the ``X-Purpose`` header.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pandas as pd
import sqlalchemy as sa
from fastapi import Header, HTTPException

from hub import api_clients, audit, storage
from hub.access.acting import Actor
from hub.access.reader import read_rows, read_table
from hub.config import Settings
from hub.pseudonym import reference

MAX_PAGE = 1000
CONNECTIONS = 40  # as many as the worker threads that answer requests (anyio's default limit)
ANCHOR_EVERY_SECONDS = 1.0


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def plain_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON-ready values (times as ISO text, NaN and NaT as null)."""
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready rows."""
    return plain_rows(frame.astype(object).to_dict("records"))


class Throttled:
    """Runs ``action`` after a write at most once per ``seconds`` (called by the one audit writer): every read
    is audited, but the anchor need not move on every entry (the next write or ``hub audit verify`` catches up)."""

    def __init__(self, action: Callable[[], Any], seconds: float) -> None:
        self.action, self.seconds, self.last = action, seconds, 0.0

    def after_write(self) -> None:
        now = time.monotonic()
        if now - self.last >= self.seconds:
            self.last = now
            self.action()


class ApiContext:
    """The settings, the database and the dependencies every router uses.

    The database stays open while the API serves (``storage.serving_engine``), one connection per request
    being answered, and audit entries are committed in groups by one writer (``audit.Recorder``); ``close``
    commits what waits and lets the database go. On DuckDB, changes made through the API (data-subject
    requests) hold ``writing``, which the audit writer holds around each group: two transactions of one
    process appending to the log at once would collide.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = storage.serving_engine(settings.database_url, CONNECTIONS, reading=True)
        self.writing: AbstractContextManager[Any] = (
            threading.Lock() if storage.is_duckdb(settings.database_url) else nullcontext()
        )
        self.anchoring = Throttled(lambda: audit.keep_anchored(settings), ANCHOR_EVERY_SECONDS)
        # The writer's own connection: requests wait for it while holding theirs, so sharing their pool could
        # leave it waiting for a connection that only its own commit would free.
        self.audit_engine = storage.serving_engine(settings.database_url, 1)
        self.recorder = audit.Recorder(self.audit_engine, self.anchoring.after_write, self.writing)

    def close(self) -> None:
        """Commit the audit entries still waiting, anchor them, and close the database's connections (even when
        the anchor cannot be moved: the next start or ``hub audit verify`` catches up)."""
        try:
            self.recorder.close()
            audit.keep_anchored(self.settings)
        finally:
            self.audit_engine.dispose()
            self.engine.dispose()

    def client(self, authorization: str = Header(default="")) -> Actor:
        """The client behind the bearer token (401 without one, or with an unknown or revoked one)."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        with self.engine.connect() as connection:
            found = api_clients.authenticate(connection, token)
        if found is None:
            raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return Actor(found.name, found.role)

    @staticmethod
    async def purpose(x_purpose: str = Header(default="")) -> str:
        """Async, as it waits for nothing: FastAPI runs it on the event loop instead of a worker thread."""
        if not x_purpose:
            raise HTTPException(400, "say why: the X-Purpose header is required to read personal data")
        return x_purpose

    def read(
        self,
        connection: sa.Connection,
        actor: Actor,
        why: str,
        table: str,
        subject: str | None,
        where: str = "",
        page: slice | None = None,
        **params,
    ) -> pd.DataFrame:
        """One read through the role's view (a page of it), written to the audit log with its purpose. A request
        makes all its reads on one connection (one checkout of the pool)."""
        frame = read_table(connection, actor.role, table, why, where, **params)
        frame = frame.iloc[page] if page else frame
        self.audit_read(actor, why, table, len(frame), subject)
        return frame

    def rows(
        self, connection: sa.Connection, actor: Actor, why: str, table: str, subject: str, where: str, **params
    ) -> list[dict[str, Any]]:
        """As ``read``, for one person's few rows, as JSON-ready rows (no frame: it would cost more than the query)."""
        found = plain_rows(read_rows(connection, actor.role, table, why, where, **params))
        self.audit_read(actor, why, table, len(found), subject)
        return found

    def audit_read(self, actor: Actor, why: str, table: str, rows: int, subject: str | None = None) -> None:
        """The audit entry of a read: who, why, which table and how many rows the client got (the person only
        by pseudonym). Returns once the entry is committed, so call it before answering: a read the log does
        not hold is never answered (AuditUnavailable instead)."""
        self.recorder.record(
            [
                audit.Entry(
                    actor=actor.name,
                    role=actor.role,
                    action="read",
                    subject_ref=reference(self.settings, "customer", subject) if subject else None,
                    purpose=why,
                    detail={"table": table, "rows": rows},
                )
            ]
        )
