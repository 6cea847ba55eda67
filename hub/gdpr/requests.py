"""A data-subject request's life: received, identity verified, carried out, answered within a month.

Article 12(3) gives one calendar month from receipt, extendable by two further months when the
request is complex or one of many, with the reason told to the person: both the deadline and the
reason are kept. Every step is a line in the request's trail and an entry in the audit log. The
trail and the audit log never hold the identifier itself; the request row holds it only until an
erasure completes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa

from hub import audit
from hub.access.acting import Actor
from hub.gdpr.locate import find_customers
from hub.schema import dsr_event, dsr_request
from hub.storage import read_frame
from quality.identifiers import keyed_hash

KINDS = {
    "access": "Art. 15",
    "portability": "Art. 20",
    "rectification": "Art. 16",
    "erasure": "Art. 17",
    "restriction": "Art. 18",
    "objection": "Art. 21",
}
OPEN = ("received", "verified", "awaiting_tools")
MAX_EXTENSION_MONTHS = 2


class RequestError(RuntimeError):
    """A request cannot take the step asked for; the message says why (never with personal data)."""


@dataclass(frozen=True)
class Request:
    request_id: str
    kind: str
    status: str
    identifier_kind: str
    identifier: str | None
    subject_ref: str
    customer_id: str | None
    details: dict
    received_at: datetime
    verified_at: datetime | None
    verification: str | None
    due_on: date
    extended_to: date | None
    extension_reason: str | None
    completed_at: datetime | None

    @property
    def deadline(self) -> date:
        return self.extended_to or self.due_on


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later (the month's last day when it has no such day)."""
    return (pd.Timestamp(day) + pd.DateOffset(months=months)).date()


def _now() -> datetime:
    return datetime.now(UTC)


def trail(connection: sa.Connection, request_id: str, actor: Actor, step: str, detail: str | None = None) -> None:
    """One step in the request's trail, and the same step in the audit log."""
    seq = connection.execute(
        sa.select(sa.func.coalesce(sa.func.max(dsr_event.c.seq), 0) + 1).where(dsr_event.c.request_id == request_id)
    ).scalar()
    connection.execute(
        sa.insert(dsr_event).values(
            request_id=request_id, seq=seq, recorded_at=_now(), actor=actor.name, step=step, detail=detail
        )
    )
    subject = connection.execute(
        sa.select(dsr_request.c.subject_ref).where(dsr_request.c.request_id == request_id)
    ).scalar()
    audit.record(
        connection,
        actor=actor.name,
        role=actor.role,
        action=f"dsr.{step}",
        subject_ref=subject,
        purpose="dsr",
        detail={"request_id": request_id, "detail": detail},
    )


def open_request(
    connection: sa.Connection,
    key: bytes,
    actor: Actor,
    *,
    kind: str,
    identifier_kind: str,
    identifier: str,
    details: dict | None = None,
    received_on: date | None = None,
) -> str:
    """Register a request as received; returns its ID. The deadline runs from the day of receipt."""
    if kind not in KINDS:
        raise RequestError(f"unknown request kind {kind!r}; one of {', '.join(KINDS)}")
    subject_ref = keyed_hash(key, identifier_kind, identifier)
    if subject_ref is None:
        raise RequestError(f"the {identifier_kind} given is not a valid {identifier_kind}")
    customers = find_customers(connection, identifier_kind, identifier)
    received = received_on or _now().date()
    request_id = f"DSR-{received:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"
    connection.execute(
        sa.insert(dsr_request).values(
            request_id=request_id,
            kind=kind,
            status="received",
            identifier_kind=identifier_kind,
            identifier=identifier,
            subject_ref=subject_ref,
            customer_id=customers[0] if len(customers) == 1 else None,
            details=json.dumps(details or {}),
            received_at=_now(),
            due_on=add_months(received, 1),
            requested_by=actor.name,
        )
    )
    found = {0: "no customer holds the identifier", 1: "one customer found"}.get(
        len(customers), f"{len(customers)} customers share the identifier: name one by customer ID"
    )
    trail(connection, request_id, actor, "received", f"{KINDS[kind]} {kind}; {found}")
    return request_id


def load(connection: sa.Connection, request_id: str) -> Request:
    frame = read_frame(connection, sa.select(dsr_request).where(dsr_request.c.request_id == request_id))
    if frame.empty:
        raise RequestError(f"no request {request_id}")
    row = frame.iloc[0].to_dict()
    row = {k: (None if pd.isna(v) else v) if not isinstance(v, (list, dict)) else v for k, v in row.items()}
    row["details"] = json.loads(row["details"] or "{}")
    for name in ("due_on", "extended_to"):
        if isinstance(row[name], (datetime, pd.Timestamp)):
            row[name] = row[name].date()
    fields = Request.__dataclass_fields__
    return Request(**{k: v for k, v in row.items() if k in fields})


def verify(connection: sa.Connection, request_id: str, actor: Actor, method: str) -> None:
    """Record how the requester's identity was checked (Art. 12(6)); nothing is carried out before."""
    request = load(connection, request_id)
    if request.status != "received":
        raise RequestError(f"request {request_id} is {request.status}, not awaiting verification")
    connection.execute(_update(request_id).values(status="verified", verified_at=_now(), verification=method))
    trail(connection, request_id, actor, "verified", method)


def extend(connection: sa.Connection, request_id: str, actor: Actor, months: int, reason: str) -> date:
    """Push the deadline by up to two months in all, with the reason the person will be told."""
    request = load(connection, request_id)
    if request.status not in OPEN:
        raise RequestError(f"request {request_id} is {request.status}")
    already = 0 if request.extended_to is None else _months_between(request.due_on, request.extended_to)
    if months < 1 or already + months > MAX_EXTENSION_MONTHS:
        raise RequestError(f"a deadline extends by at most {MAX_EXTENSION_MONTHS} months in all (Art. 12(3))")
    new_deadline = add_months(request.due_on, already + months)
    connection.execute(_update(request_id).values(extended_to=new_deadline, extension_reason=reason))
    trail(connection, request_id, actor, "extended", f"to {new_deadline.isoformat()}: {reason}")
    return new_deadline


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def set_status(connection: sa.Connection, request_id: str, actor: Actor, status: str, detail: str) -> None:
    completed = _now() if status in ("completed", "refused") else None
    connection.execute(_update(request_id).values(status=status, completed_at=completed))
    trail(connection, request_id, actor, status, detail)


def listing(connection: sa.Connection, open_only: bool = False) -> pd.DataFrame:
    """Requests with their deadline and whether it has passed; no identifiers."""
    r = dsr_request.c
    shown = (r.request_id, r.kind, r.status, r.identifier_kind, r.received_at, r.verified_at, r.due_on)
    query = sa.select(*shown, r.extended_to, r.completed_at).order_by(r.received_at)
    frame = read_frame(connection, query.where(r.status.in_(list(OPEN))) if open_only else query)
    deadline = pd.to_datetime(frame["extended_to"].fillna(frame["due_on"]))
    frame["overdue"] = frame["status"].isin(OPEN) & (deadline.dt.date < _now().date())
    return frame


def events(connection: sa.Connection, request_id: str) -> pd.DataFrame:
    e = dsr_event.c
    return read_frame(
        connection,
        sa.select(e.seq, e.recorded_at, e.actor, e.step, e.detail).where(e.request_id == request_id).order_by(e.seq),
    )


def _update(request_id: str) -> sa.Update:
    return sa.update(dsr_request).where(dsr_request.c.request_id == request_id)
