"""Reading and writing the consent tables of the ``mdm`` schema, and the landing rows they come from.

The ledger (``mdm.consent_event``) only ever grows: new events are inserted when their id is not
there yet, nothing is updated or deleted here. The state (``mdm.consent_state``) is derived from the
ledger for the customers whose inputs may have changed since it was last derived (``customers_to_derive``);
only the rows whose decision changed are written, inside the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from hub.golden_store import stage_ids
from hub.landed import purchases_sql
from hub.schema import (
    consent_event,
    consent_state,
    customer_id_history,
    customer_xref,
    subject_flag,
)
from hub.storage import HUB_SCHEMA, insert_frame, read_frame, write_changes
from transforms.consent import PURPOSES
from transforms.consent.events import EVENT_COLUMNS, RESTATED, TOUCH_TIMED
from transforms.consent.state import DECISION, EVENT_INPUT, KEY, STATE_COLUMNS, follow_merges

S = HUB_SCHEMA
REQUEST_SYSTEM = "dsr"  # events made by data-subject requests; their source_key is a customer id


def count_events(connection: sa.Connection) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(consent_event)).scalar())


def append_events(connection: sa.Connection, events: pd.DataFrame) -> int:
    """Insert the events whose id the ledger does not hold yet; how many were added."""
    before = count_events(connection)
    if events.empty:
        return 0
    new = sa.Table(
        "_hub_consent_new",
        sa.MetaData(),
        *(sa.Column(c, consent_event.c[c].type) for c in EVENT_COLUMNS),
        prefixes=["TEMPORARY"],
    )
    new.create(connection, checkfirst=True)
    connection.execute(sa.delete(new))
    insert_frame(connection, new.name, events[EVENT_COLUMNS], schema=None)
    unseen = ~sa.exists().where(consent_event.c.event_id == new.c.event_id)
    connection.execute(sa.insert(consent_event).from_select(EVENT_COLUMNS, sa.select(new).where(unseen)))
    return count_events(connection) - before


def latest_events(connection: sa.Connection, events: pd.DataFrame) -> pd.DataFrame:
    """Of the records behind ``events``' touch-timed ones, the ledger's newest event per purpose (its
    ``RESTATED`` columns and ``occurred_at``): what ``transforms.consent.events.restatements`` holds them against."""
    touched = events[events[TOUCH_TIMED]]
    if touched.empty:
        return pd.DataFrame(columns=[*RESTATED, "occurred_at"])
    e = consent_event.c
    ranked = (
        sa.select(
            *(e[c] for c in RESTATED),
            e.occurred_at,
            sa.func.row_number()
            .over(partition_by=(e.source_system, e.source_key, e.purpose), order_by=(e.occurred_at.desc(), e.event_id))
            .label("newest"),
        )
        .where(
            e.source_system.in_(sorted(set(touched["source_system"]))),
            e.source_key.in_(stage_ids(connection, sorted(set(touched["source_key"])), "source_key")),
            e.occurred_at.is_not(None),
        )
        .subquery()
    )
    query = sa.select(*(ranked.c[c] for c in RESTATED), ranked.c.occurred_at).where(ranked.c.newest == 1)
    return read_frame(connection, query)


def stack(first: pd.DataFrame, *more: pd.DataFrame) -> pd.DataFrame:
    """Frames of the same columns one after the other; empty ones are left out (their dtypes mean nothing)."""
    frames = [f for f in (first, *more) if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else first.reset_index(drop=True)


def load_merges(connection: sa.Connection) -> pd.DataFrame:
    history = customer_id_history.c
    return read_frame(
        connection,
        sa.select(history.customer_id, history.related_id, history.recorded_at).where(history.event == "merged_into"),
    )


def request_events(connection: sa.Connection, merges: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Events of data-subject requests, with the customer id that holds the requester now."""
    event = consent_event.c
    wanted = [event[c] for c in columns if c != "customer_id"]
    frame = read_frame(
        connection,
        sa.select(event.source_key.label("customer_id"), *wanted).where(event.source_system == REQUEST_SYSTEM),
    )
    frame["customer_id"] = follow_merges(frame["customer_id"], merges)
    return frame[columns]


def load_customer_events(
    connection: sa.Connection, merges: pd.DataFrame, within: sa.Select | None = None
) -> pd.DataFrame:
    """Every ledger event with the customer it belongs to now (``EVENT_INPUT`` columns); of the customers
    ``within`` a selection of IDs (``stage_ids``) if given.

    A system's event belongs to whoever holds its source record in the crosswalk; an event of a
    record that is no source record any more (a soft-deleted ERP customer) belongs to no one.
    """
    e, x = consent_event.c, customer_xref.c
    record = sa.and_(x.source_system == e.source_system, x.source_key == e.source_key)
    query = sa.select(x.customer_id, *(e[c] for c in EVENT_INPUT if c != "customer_id")).join_from(
        consent_event, customer_xref, record
    )
    systems = read_frame(connection, query if within is None else query.where(x.customer_id.in_(within)))
    requests = request_events(connection, merges, EVENT_INPUT)
    if within is not None:
        requests = requests[requests["customer_id"].isin(read_frame(connection, within).iloc[:, 0])]
    return stack(systems, requests)


def load_flags(connection: sa.Connection, merges: pd.DataFrame) -> pd.DataFrame:
    """Subject flags (restricted, objected) on the customer ids that hold them now."""
    flags = read_frame(connection, sa.select(subject_flag.c.customer_id, subject_flag.c.flag))
    flags["customer_id"] = follow_merges(flags["customer_id"], merges)
    return flags


def load_purchasers(connection: sa.Connection) -> pd.Series:
    """Customers with a sale in a system, as the tables' descriptions say what a sale is (``hub.landed``):
    an ERP invoice not credited, a webshop order completed or processing, a loyalty purchase; zero amounts
    are no sale."""
    purchases = purchases_sql(connection)
    if purchases is None:
        return pd.Series(dtype=object, name="customer_id")
    sql = (
        f"SELECT DISTINCT x.customer_id FROM ({purchases}) p JOIN {S}.customer_xref x "
        "ON x.source_system = p.source_system AND x.source_key = p.source_key "
        "WHERE p.kind = 'sale' AND p.amount_eur > 0"
    )
    return read_frame(connection, sql)["customer_id"]


def load_decisions(connection: sa.Connection, within: sa.Select | None = None) -> pd.DataFrame:
    """The stored state's key and decision columns (not when each was made: ``differences`` needs no time); of
    the customers ``within`` a selection of IDs if given."""
    query = sa.select(*(consent_state.c[c] for c in KEY + DECISION))
    return read_frame(connection, query if within is None else query.where(consent_state.c.customer_id.in_(within)))


def newest_event(connection: sa.Connection) -> datetime | None:
    """The newest stamp on the events the systems stated (``consent_events`` stamps them when it appends, under
    the hub's lock, so a later event carries a later stamp): the next derivation looks only at events after it.
    Events of requests are left out: they are few, and always looked at."""
    event = consent_event.c
    newest = sa.select(sa.func.max(event.recorded_at)).where(event.source_system != REQUEST_SYSTEM)
    return connection.execute(newest).scalar()


def customers_to_derive(
    connection: sa.Connection, since: datetime, merges: pd.DataFrame, moved: set[str], soft_opt_in: bool
) -> set[str]:
    """The customers whose consent may have changed since it was last derived, when the newest event it read
    was stamped ``since``; every other customer's inputs are as they were then:

    - ``moved``: customers new, gone, or whose records changed (their golden sources digest is not the one
      their consent was derived with), which moves events between customers;
    - customers holding a record with an event recorded after ``since``;
    - customers with an event of a request, or a subject flag (through merges), or a stored restriction or
      objection: they are few, and a lifted flag leaves no trace to find it by but the stored decision;
    - with the soft opt-in, purchasers whose email decision rests on no event, and soft opt-ins who bought
      nothing any more.
    """
    e, x, s, f = consent_event.c, customer_xref.c, consent_state.c, subject_flag.c
    record = sa.and_(x.source_system == e.source_system, x.source_key == e.source_key)
    with_events = sa.select(x.customer_id).join_from(consent_event, customer_xref, record).where(e.recorded_at > since)
    restricted = sa.select(s.customer_id).where(s.basis.in_(["restriction", "objection"]))
    found = set(moved)
    for query in (with_events, restricted):
        found.update(connection.execute(query.distinct()).scalars())
    flagged = connection.execute(sa.select(f.customer_id).distinct()).scalars().all()
    asked = connection.execute(sa.select(e.source_key).where(e.source_system == REQUEST_SYSTEM).distinct()).scalars()
    found.update(follow_merges(pd.Series([*flagged, *asked], dtype=object), merges))
    if soft_opt_in:
        email = read_frame(
            connection,
            sa.select(s.customer_id, s.basis).where(
                s.purpose == "email_marketing", s.basis.in_(["none", "soft_opt_in"])
            ),
        )
        buyers = email["customer_id"].isin(load_purchasers(connection)).to_numpy()
        found.update(email["customer_id"][buyers != (email["basis"] == "soft_opt_in").to_numpy()])
    return found


def load_derived_digests(connection: sa.Connection) -> pd.Series:
    """The records digest each customer's consent was last derived with (``transforms.survivorship.records_part``), by
    ``customer_id``; None for a customer without a row for every purpose, so that it is derived again."""
    s = consent_state.c
    frame = read_frame(
        connection,
        sa.select(s.customer_id, sa.func.min(s.sources_digest).label("digest"), sa.func.count().label("rows")).group_by(
            s.customer_id
        ),
    )
    whole = frame["rows"].to_numpy() == len(PURPOSES)
    return pd.Series(frame["digest"].where(whole, None).to_numpy(), index=frame["customer_id"].to_numpy(), dtype=object)


def count_decisions(connection: sa.Connection) -> tuple[dict[str, int], dict[str, int]]:
    """Customers granted each purpose, and decisions per basis, over the whole stored state."""
    s = consent_state.c
    granted = connection.execute(sa.select(s.purpose, sa.func.count()).where(s.granted).group_by(s.purpose)).all()
    bases = connection.execute(sa.select(s.basis, sa.func.count()).group_by(s.basis)).all()
    return dict(granted), dict(bases)


def save_state(connection: sa.Connection, changed: pd.DataFrame, gone: list[tuple[str, str]]) -> None:
    """Write the rows that changed and remove those gone (``transforms.consent.state.differences``); a row whose
    decision is as stored but whose customer's records changed gets the new sources digest and keeps the time
    its decision last changed."""
    columns = [*STATE_COLUMNS, "sources_digest"]
    write_changes(
        connection, consent_state, changed[columns], gone, unchanged_by=("updated_at",), refreshed=("sources_digest",)
    )
