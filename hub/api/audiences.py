"""Segments and audiences for the tools that pull them: both lists with their sizes, an audience's members a
page at a time, and what changed in an audience since a cursor.

Members and entries are read from ``mdm.audience_membership`` through the role's view (``read_table``), so a
read for a consent purpose shows only the customers who granted it and flagged people stay hidden, as on every
read path. Exits are the exception: a tool must learn who left, to stop contacting them. Each page is one audit
entry counting the rows the client got. Paging happens in the database: a keyset condition after the cursor's
position, an ORDER BY and a LIMIT one row past the page (which tells whether another page follows), so a page
costs the same at the start and at the end of an audience and no view is read whole. The two lists are counts,
not people; the role must still be allowed to read the table for the purpose, and the listing is audited like
any read.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Query

from hub import storage
from hub.access.acting import Actor
from hub.access.policy import AccessDenied, load_policy
from hub.access.reader import read_table
from hub.api.context import MAX_PAGE, ApiContext
from hub.api.cursors import MAX_CURSOR_CHARS, Cursors
from hub.segments.definitions import audiences_file, load_audiences, load_segments, segments_folder
from hub.storage import HUB_SCHEMA
from transforms.segments.audiences import Audience
from transforms.segments.rules import Segment

MEMBERSHIP = "mdm.audience_membership"
KEYS = ("customer_id", "entered_at", "left_at")  # what paging compares: a role must see them as they are
DEFAULT_PAGE = 100
MEMBERS_NOW = f"SELECT segment, count(*) FROM {HUB_SCHEMA}.segment_membership WHERE left_at IS NULL GROUP BY segment"
INCLUDED_NOW = f"SELECT audience, count(*) FROM {HUB_SCHEMA}.audience_decision WHERE included GROUP BY audience"

Change = tuple[pd.Timestamp, str, str]  # (at, customer_id, "entered" | "left"): the changes feed's order


def _utc(value) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def changes_query(position: Change | None) -> tuple[str, str]:
    """The WHERE condition keeping an audience's rows whose entry or exit comes after ``position``, and the
    ORDER BY sorting them by the first such change (at one time and customer an entry sorts before an exit,
    so after an entry the same customer's exit at that time still follows)."""
    if position is None:
        entered, left = "TRUE", "left_at IS NOT NULL"
    else:
        same_customer = ">=" if position[2] == "entered" else ">"
        entered = "(entered_at > :t OR (entered_at = :t AND customer_id > :c))"
        left = f"(left_at > :t OR (left_at = :t AND customer_id {same_customer} :c))"
    first = f"CASE WHEN {entered} THEN entered_at ELSE left_at END, customer_id, CASE WHEN {entered} THEN 0 ELSE 1 END"
    return f"audience = :a AND ({entered} OR {left})", first


def changes_in(rows: pd.DataFrame, position: Change | None) -> list[Change]:
    """The entries and exits of membership rows that come after ``position``, in the feed's order.

    The database returns the rows ordered by their first change after the position, so the first n + 1 rows
    hold the first n + 1 changes: a row left out has n + 1 rows before it, each with an earlier change.
    (Customer IDs are fixed-width ASCII, so the database's text order is Python's.)"""
    found: list[Change] = []
    for customer_id, entered_at, left_at in rows[["customer_id", "entered_at", "left_at"]].itertuples(index=False):
        found.append((_utc(entered_at), customer_id, "entered"))
        if not pd.isna(left_at):
            found.append((_utc(left_at), customer_id, "left"))
    return sorted(change for change in found if position is None or change > position)


def _stamp(path: Path) -> tuple[str, int, int] | None:
    """A file's name, when it last changed and its size; None when it does not exist."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return str(path), status.st_mtime_ns, status.st_size


class Definitions:
    """The segment and audience files, parsed again only when one of them changed: parsing takes tens of
    milliseconds, and a tool paging through an audience asks for every page."""

    def __init__(self) -> None:
        self._cache: tuple[tuple, tuple[list[Segment], list[Audience]]] | None = None

    def current(self) -> tuple[list[Segment], list[Audience]]:
        folder, path = segments_folder(), audiences_file()
        files = [*sorted(folder.glob("*.yaml")), path]
        seen = tuple(_stamp(f) for f in files)
        if self._cache is None or self._cache[0] != seen:
            segments = load_segments(folder)
            self._cache = (seen, (segments, load_audiences(segments, path).audiences))
        return self._cache[1]


def router(api: ApiContext) -> APIRouter:
    routes = APIRouter(tags=["segments and audiences"])
    cursors = Cursors(api.settings)
    definitions = Definitions()

    def counted(actor: Actor, why: str, table: str, sql: str, listed: int) -> dict[str, int]:
        """Counts per group from ``table`` itself (numbers, not people), audited as a read of ``listed`` rows."""
        load_policy().role(actor.role).check(table, why)
        with api.engine.connect() as connection:
            counts = {name: int(n) for name, n in connection.execute(sa.text(sql))}
        api.audit_read(actor, why, table, listed)
        return counts

    def pageable(actor: Actor, why: str, name: str) -> None:
        """403 unless the role reads the membership for the purpose with the keys paging compares in clear;
        then 404 for an audience the audiences file does not name (so a refused role learns no names)."""
        role = load_policy().role(actor.role)
        role.check(MEMBERSHIP, why)
        if any(role.column_access(MEMBERSHIP, column) != "see" for column in KEYS):
            raise AccessDenied(f"role {role.name} does not see {MEMBERSHIP} in clear, so it cannot page through it")
        if name not in {audience.name for audience in definitions.current()[1]}:
            raise HTTPException(404, "no such audience")

    @routes.get("/segments")
    def segments(actor: Actor = Depends(api.client), why: str = Depends(api.purpose)) -> dict:
        """Every segment file with its owner, purpose and members now (a count)."""
        listed = definitions.current()[0]
        members = counted(actor, why, "mdm.segment_membership", MEMBERS_NOW, len(listed))
        return {
            "segments": [
                {
                    "name": s.name,
                    "description": s.description,
                    "owner": s.owner,
                    "purpose": s.purpose,
                    "members": members.get(s.name, 0),
                }
                for s in listed
            ]
        }

    @routes.get("/audiences")
    def audiences(actor: Actor = Depends(api.client), why: str = Depends(api.purpose)) -> dict:
        """Every audience of the audiences file with the customers it includes now (a count)."""
        listed = definitions.current()[1]
        included = counted(actor, why, "mdm.audience_decision", INCLUDED_NOW, len(listed))
        return {
            "audiences": [
                {
                    "name": a.name,
                    "segment": a.segment,
                    "purpose": a.purpose,
                    "channel": a.channel,
                    "holdout": a.holdout,
                    "included": included.get(a.name, 0),
                }
                for a in listed
            ]
        }

    @routes.get("/audiences/{name}/members")
    def members(
        name: str,
        limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE),
        cursor: str | None = Query(None, max_length=MAX_CURSOR_CHARS),
        actor: Actor = Depends(api.client),
        why: str = Depends(api.purpose),
    ) -> dict:
        """The audience's members now, as the role sees them for the purpose, by customer ID; pass
        ``next_cursor`` back as ``cursor`` for the next page (null on the last one)."""
        pageable(actor, why, name)
        where, params = "audience = :a AND left_at IS NULL", {"a": name}
        if cursor is not None:
            (params["after"],) = cursors.read(cursor, "members", name, 1)
            where += " AND customer_id > :after"
        with api.engine.connect() as connection:
            rows = read_table(
                connection, actor.role, MEMBERSHIP, why, where, order_by="customer_id", limit=limit + 1, **params
            )
        page = rows.iloc[:limit]
        api.audit_read(actor, why, MEMBERSHIP, len(page))
        entered = pd.to_datetime(page["entered_at"], utc=True)
        return {
            "audience": name,
            "members": [
                {"customer_id": customer_id, "entered_at": at.isoformat()}
                for customer_id, at in zip(page["customer_id"], entered, strict=True)
            ],
            "next_cursor": cursors.write("members", name, page["customer_id"].iloc[-1]) if len(rows) > limit else None,
        }

    @routes.get("/audiences/{name}/changes")
    def changes(
        name: str,
        since: str | None = Query(None, max_length=MAX_CURSOR_CHARS),
        limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE),
        actor: Actor = Depends(api.client),
        why: str = Depends(api.purpose),
    ) -> dict:
        """Entries into and exits from the audience after ``since`` (from the beginning without it), oldest
        first. Entries are shown as the role sees them for the purpose; exits always, as a customer ID and a
        time: the person who withdrew consent, was restricted or objected has left the audience, and the tool
        that holds them must learn it though the role's view no longer shows them. ``next_cursor`` is where to
        continue from (``since`` again when nothing changed); ``more`` says whether further changes are waiting
        already."""
        pageable(actor, why, name)
        position = None
        params = {"a": name}
        if since is not None:
            at, customer_id, change = cursors.read(since, "changes", name, 3)
            position = (_utc(at), customer_id, change)
            params |= {"t": position[0].to_pydatetime(), "c": customer_id}
        where, first = changes_query(position)
        page = f"SELECT {', '.join(KEYS)} FROM {MEMBERSHIP} WHERE {where} ORDER BY {first} LIMIT {limit + 1}"
        with api.engine.connect() as connection:
            found = changes_in(storage.read_frame(connection, page, **params), position)
            # The role's view over the same rows (a subset in the same order): whose entries it may see.
            view = read_table(connection, actor.role, MEMBERSHIP, why, where, order_by=first, limit=limit + 1, **params)
        visible = set(view["customer_id"])
        considered = found[:limit]
        shown = [c for c in considered if c[2] == "left" or c[1] in visible]
        api.audit_read(actor, why, MEMBERSHIP, len(shown))
        last = considered[-1] if considered else None
        return {
            "audience": name,
            "changes": [{"customer_id": c, "change": kind, "at": at.isoformat()} for at, c, kind in shown],
            "next_cursor": cursors.write("changes", name, last[0].isoformat(), last[1], last[2]) if last else since,
            "more": len(found) > limit,
        }

    return routes
