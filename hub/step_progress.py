"""When a step that derives from the hub's own tables last did its work, and with what (``mdm.step_progress``).

A step reads its row with the digest of what it derives from (its code and settings, and whatever else it
names): a row of another digest, or none, means do everything; otherwise it need only look at what changed
since ``read_at``.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hub.schema import step_progress
from hub.storage import replace_row


def read_step_progress(connection: sa.Connection, step: str, digest: str) -> datetime | None:
    """When ``step`` last read the hub's tables with the code of ``digest``, or None (do everything)."""
    progress = step_progress.c
    query = sa.select(progress.read_at).where(progress.step == step, progress.code_digest == digest)
    return connection.execute(query).scalar()


def save_step_progress(connection: sa.Connection, step: str, read_at: datetime, digest: str) -> None:
    replace_row(connection, step_progress, {"step": step}, {"read_at": read_at, "code_digest": digest})
