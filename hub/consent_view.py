"""One customer's consent explained from its evidence: what ``hub consent show`` and the API print.

The state of each purpose comes with its deciding event; the evidence trail is every event of every
source record the customer holds now, and of the data-subject requests made under any of its IDs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from hub.consent_store import load_merges, request_events, stack
from hub.golden_store import resolve
from hub.storage import HUB_SCHEMA, read_frame
from transforms.consent import PURPOSES
from transforms.consent.events import EVENT_COLUMNS

S = HUB_SCHEMA
TRAIL_COLUMNS = ["customer_id", *EVENT_COLUMNS]


@dataclass(frozen=True)
class ConsentExplanation:
    customer_id: str
    current_id: str  # where the asked-for ID lives now (itself, or the ID it was merged into)
    states: pd.DataFrame  # per purpose: granted, basis, rule, updated_at, and the deciding event's fields
    events: pd.DataFrame  # the evidence trail, oldest first (untimed events first of all)

    @property
    def found(self) -> bool:
        return not self.states.empty


def evidence_trail(connection: sa.Connection, customer_id: str) -> pd.DataFrame:
    """Every consent event of the customer ``customer_id`` (a current ID), oldest first."""
    fields = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
    systems = read_frame(
        connection,
        f"SELECT x.customer_id, {fields} FROM {S}.consent_event e JOIN {S}.customer_xref x "
        "ON x.source_system = e.source_system AND x.source_key = e.source_key WHERE x.customer_id = :c",
        c=customer_id,
    )
    requests = request_events(connection, load_merges(connection), TRAIL_COLUMNS)
    trail = stack(systems, requests[requests["customer_id"] == customer_id])
    trail["occurred_at"] = pd.to_datetime(trail["occurred_at"], utc=True)
    return trail.sort_values(
        ["occurred_at", "recorded_at", "event_id"], na_position="first", kind="stable", ignore_index=True
    )[TRAIL_COLUMNS]


def explain(connection: sa.Connection, customer_id: str) -> ConsentExplanation:
    """The consent state of a customer (by a current or an old ID), per purpose and from its evidence."""
    current = resolve(connection, customer_id)
    states = read_frame(
        connection,
        f"SELECT s.purpose, s.granted, s.basis, s.rule, s.updated_at, s.event_id, e.source_system, e.source_key, "
        f"e.action, e.occurred_at, e.evidence FROM {S}.consent_state s "
        f"LEFT JOIN {S}.consent_event e ON e.event_id = s.event_id WHERE s.customer_id = :c",
        c=current,
    )
    states = states.sort_values("purpose", key=lambda p: p.map(PURPOSES.index), ignore_index=True)
    return ConsentExplanation(customer_id, current, states, evidence_trail(connection, current))
