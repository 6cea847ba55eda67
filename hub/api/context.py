"""What every router of the API shares: the client behind a bearer token, the purpose of a read, and the
one read path (through the role's view, written to the audit log with its purpose).

Every call names its client by a bearer token (the client's access role comes with it) and every read
of personal data names its purpose in the ``X-Purpose`` header.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import sqlalchemy as sa
from fastapi import Header, HTTPException

from hub import api_clients, audit, storage
from hub.access.acting import Actor
from hub.access.reader import read_table
from hub.config import Settings
from hub.pseudonym import reference

MAX_PAGE = 1000
ANCHOR_EVERY_SECONDS = 1.0


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready rows (times as ISO text, NaN and NaT as null)."""

    def plain(value: Any) -> Any:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if value is pd.NaT:
            return None
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if hasattr(value, "item"):
            return value.item()
        return value

    return [{k: plain(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


class Throttled:
    """Runs ``action`` after a write at most once per ``seconds``: reads are audited one by one, but the
    anchor need not move on every one of them (the next write or ``hub audit verify`` catches up)."""

    def __init__(self, action: Callable[[], Any], seconds: float) -> None:
        self.action, self.seconds, self.last = action, seconds, 0.0

    def after_write(self) -> None:
        now = time.monotonic()
        if now - self.last >= self.seconds:
            self.last = now
            self.action()


class ApiContext:
    """The settings, the database and the dependencies every router uses."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = storage.engine(settings.database_url)
        self.anchoring = Throttled(lambda: audit.keep_anchored(settings), ANCHOR_EVERY_SECONDS)

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
    def purpose(x_purpose: str = Header(default="")) -> str:
        if not x_purpose:
            raise HTTPException(400, "say why: the X-Purpose header is required to read personal data")
        return x_purpose

    def read(
        self,
        actor: Actor,
        why: str,
        table: str,
        subject: str | None,
        where: str = "",
        page: slice | None = None,
        **params,
    ) -> pd.DataFrame:
        """One read through the role's view (a page of it), written to the audit log with its purpose."""
        with self.engine.begin() as connection:
            frame = read_table(connection, actor.role, table, why, where, **params)
            frame = frame.iloc[page] if page else frame
            self.audit_read(connection, actor, why, table, len(frame), subject)
        self.anchoring.after_write()
        return frame

    def audit_read(
        self, connection: sa.Connection, actor: Actor, why: str, table: str, rows: int, subject: str | None = None
    ) -> None:
        """The audit entry of a read, in the reading transaction: who, why, which table and how many rows the
        client got (the person only by pseudonym). The caller moves the anchor after the commit
        (``anchoring.after_write``)."""
        audit.record(
            connection,
            actor=actor.name,
            role=actor.role,
            action="read",
            subject_ref=reference(self.settings, "customer", subject) if subject else None,
            purpose=why,
            detail={"table": table, "rows": rows},
        )
