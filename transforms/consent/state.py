"""The current consent of every customer for every purpose, derived from the ledger by written rules.

The first rule that applies decides (``basis`` names it, ``rule`` says why in words):

1. ``restriction``: a customer flagged ``restricted`` (Art. 18) is denied every purpose.
2. ``objection``: a customer flagged ``objected``, or with an ``objection`` event from a data-subject
   request (Art. 21), is denied every purpose (all five are direct marketing or profiling for it),
   whatever grants come later. An objection event covers every purpose, whichever one it names.
3. ``explicit``: the latest explicit event of the purpose (grant, withdraw, ban), from any system:
   - at equal times a withdrawal or a ban beats a grant;
   - an event without a time counts as older than every timed event: it never beats a timed
     withdrawal (nor a timed grant);
   - a system that records consent by date only (loyalty) gives no order within the day: its
     withdrawal counts at the end of its day and its grant at the start, so the uncertain order of
     two events of one day resolves as a withdrawal, as at equal times;
   so a withdrawal or ban is only ever overridden by a newer grant.
4. ``soft_opt_in``: only when enabled, a customer with a purchase and no explicit email_marketing
   event at all gets email_marketing (and nothing else); any withdrawal, ban or objection prevents it.
5. ``none``: no event means no consent.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd

from transforms.consent import BAN, GRANT, OBJECTION, PURPOSES, WITHDRAW
from transforms.consent.events import DATE_ONLY_SYSTEMS

STATE_COLUMNS = ["customer_id", "purpose", "granted", "basis", "rule", "event_id", "updated_at"]
EVENT_INPUT = ["customer_id", "event_id", "source_system", "purpose", "action", "occurred_at"]

RULE_NONE = "no consent event"
RULE_SOFT_OPT_IN = "soft opt-in: existing customer with a purchase"
RULE_OBJECTION = "objection to direct marketing is absolute (Art. 21)"
RULE_OBJECTED = "subject objected to direct marketing (Art. 21)"
RULE_RESTRICTED = "processing restricted (Art. 18)"
RULE_LATEST = {
    GRANT: "latest explicit event: grant",
    WITHDRAW: "latest explicit event: withdrawal",
    BAN: "latest explicit event: ban",
}
RULE_TIE = {WITHDRAW: "withdrawal beats a grant of the same time", BAN: "ban beats a grant of the same time"}

# At equal times the more restrictive action wins.
_PRIORITY = {GRANT: 0, WITHDRAW: 1, BAN: 2}
_DAY_NS = 86_400_000_000_000
_EMAIL = PURPOSES.index("email_marketing")


def _order(events: pd.DataFrame) -> np.ndarray:
    """Nanoseconds to order events by: untimed ones first, date-only withdrawals at their day's end."""
    times = pd.to_datetime(events["occurred_at"], utc=True).astype("datetime64[ns, UTC]")
    order = times.dt.tz_convert(None).to_numpy().view("int64").copy()
    timed = times.notna().to_numpy()
    late = timed & events["source_system"].isin(DATE_ONLY_SYSTEMS).to_numpy() & (events["action"] != GRANT).to_numpy()
    order[late] = (order[late] // _DAY_NS) * _DAY_NS + _DAY_NS - 1
    order[~timed] = np.iinfo(np.int64).min
    return order


def _latest_explicit(events: pd.DataFrame, slots: np.ndarray) -> pd.DataFrame:
    """The deciding event per slot (customer and purpose), and whether a grant tied with it.

    One sort by slot, time, restrictiveness and event id (so that exact ties still decide the same
    way on every run); the last event of each slot decides.
    """
    order = _order(events)
    priority = events["action"].map(_PRIORITY).to_numpy()
    ids = events["event_id"].to_numpy(dtype=str)
    sort = np.lexsort((ids, priority, order, slots))
    slot, time, rank = slots[sort], order[sort], priority[sort]
    positions = np.arange(len(sort))
    last = np.r_[slot[1:] != slot[:-1], True]
    run_starts = np.r_[True, (slot[1:] != slot[:-1]) | (time[1:] != time[:-1])]
    run_start = np.maximum.accumulate(np.where(run_starts, positions, 0))
    winners = positions[last]
    # Grants sort first within a slot and time: the winner tied with a grant if its run starts with one.
    tied = (rank[run_start[winners]] == _PRIORITY[GRANT]) & (rank[winners] != _PRIORITY[GRANT])
    chosen = sort[winners]
    return pd.DataFrame(
        {
            "slot": slots[chosen],
            "event_id": events["event_id"].to_numpy()[chosen],
            "action": events["action"].to_numpy()[chosen],
            "tied": tied,
        }
    )


def current_state(
    customers: Iterable[str],
    events: pd.DataFrame,
    flags: pd.DataFrame,
    purchasers: Iterable[str],
    soft_opt_in: bool,
    now: datetime,
) -> pd.DataFrame:
    """One row per customer and purpose, shaped like ``mdm.consent_state``.

    ``events`` are ledger events with the ``customer_id`` that holds them now (columns
    ``EVENT_INPUT``); ``flags`` are subject flags (``customer_id``, ``flag``); ``purchasers`` are the
    customers with a purchase. Events and flags of customers not listed are ignored.
    """
    ids = pd.Index(pd.unique(np.asarray(list(customers), dtype=object)))
    width = len(PURPOSES)
    size = len(ids) * width
    granted = np.zeros(size, dtype=bool)
    basis = np.full(size, "none", dtype=object)
    rule = np.full(size, RULE_NONE, dtype=object)
    event_id = np.full(size, None, dtype=object)

    customer = ids.get_indexer(events["customer_id"])
    purpose = pd.Index(PURPOSES).get_indexer(events["purpose"])
    known = customer >= 0
    explicit = known & (purpose >= 0) & events["action"].isin(list(_PRIORITY)).to_numpy()
    if explicit.any():
        winners = _latest_explicit(events[explicit], customer[explicit] * width + purpose[explicit])
        slots = winners["slot"].to_numpy()
        actions = winners["action"].to_numpy()
        granted[slots] = actions == GRANT
        basis[slots] = "explicit"
        rule[slots] = np.where(winners["tied"], pd.Series(actions).map(RULE_TIE), pd.Series(actions).map(RULE_LATEST))
        event_id[slots] = winners["event_id"].to_numpy()

    if soft_opt_in:
        buyers = ids.get_indexer(pd.unique(np.asarray(list(purchasers), dtype=object)))
        slots = buyers[buyers >= 0] * width + _EMAIL
        slots = slots[basis[slots] == "none"]
        granted[slots], basis[slots], rule[slots] = True, "soft_opt_in", RULE_SOFT_OPT_IN

    def deny(rows: np.ndarray, why: str, label: str, deciding: np.ndarray | None = None) -> None:
        for offset in range(width):
            slots = rows * width + offset
            granted[slots], basis[slots], rule[slots] = False, why, label
            event_id[slots] = deciding

    flag_rows = ids.get_indexer(flags["customer_id"])
    flag_names = flags["flag"].to_numpy()
    objected = np.unique(flag_rows[(flag_rows >= 0) & (flag_names == "objected")])
    deny(objected, "objection", RULE_OBJECTED)
    objecting = known & (events["action"] == OBJECTION).to_numpy()
    if objecting.any():
        objections = pd.DataFrame(
            {
                "row": customer[objecting],
                "purpose": purpose[objecting],
                "order": _order(events[objecting]),
                "event_id": events.loc[objecting, "event_id"].to_numpy(),
            }
        ).sort_values(["row", "order", "event_id"], kind="stable")
        first = objections.drop_duplicates("row")
        deny(first["row"].to_numpy(), "objection", RULE_OBJECTION, first["event_id"].to_numpy())
        # Where the objection names a purpose, that purpose shows its own objection event.
        named = objections[objections["purpose"] >= 0].drop_duplicates(["row", "purpose"])
        event_id[named["row"].to_numpy() * width + named["purpose"].to_numpy()] = named["event_id"].to_numpy()
    restricted = np.unique(flag_rows[(flag_rows >= 0) & (flag_names == "restricted")])
    deny(restricted, "restriction", RULE_RESTRICTED)

    return pd.DataFrame(
        {
            "customer_id": np.repeat(ids.to_numpy(dtype=object), width),
            "purpose": np.tile(np.array(PURPOSES, dtype=object), len(ids)),
            "granted": granted,
            "basis": basis,
            "rule": rule,
            "event_id": event_id,
            "updated_at": pd.Timestamp(now),
        }
    )[STATE_COLUMNS]


DECISION = ["granted", "basis", "rule", "event_id"]
KEY = ["customer_id", "purpose"]


def differences(state: pd.DataFrame, previous: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The rows of ``state`` that are new or decide differently from ``previous`` (its ``KEY`` and ``DECISION``
    columns), and the keys of ``previous`` that ``state`` no longer has. Writing only these leaves every other
    stored row, and so its ``updated_at``, as it was: the time a decision was last changed means something,
    and a day's run rewrites a few rows, not every customer's five."""
    result = state.reset_index(drop=True)
    if previous.empty:
        return result, []
    before = result[KEY].merge(previous[KEY + DECISION], on=KEY, how="left", indicator=True)
    same = (before["_merge"] == "both").to_numpy()
    for column in DECISION:
        new, old = result[column].to_numpy(dtype=object), before[column].to_numpy(dtype=object)
        same &= (new == old) | (pd.isna(new) & pd.isna(old))
    kept = pd.MultiIndex.from_frame(result[KEY])
    gone = previous.loc[~pd.MultiIndex.from_frame(previous[KEY]).isin(kept), KEY]
    return result[~same].reset_index(drop=True), list(gone.itertuples(index=False, name=None))


def follow_merges(ids: pd.Series, merges: pd.DataFrame) -> pd.Series:
    """The ID that holds each customer now, following ``merged_into`` events (latest per ID).

    ``merges`` has ``customer_id``, ``related_id`` and ``recorded_at`` of the merged_into events.
    """
    if merges.empty:
        return ids.copy()
    latest = merges.sort_values("recorded_at", kind="stable").drop_duplicates("customer_id", keep="last")
    into = pd.Series(latest["related_id"].to_numpy(), index=latest["customer_id"].to_numpy())
    current = ids.copy()
    for _ in range(len(into)):
        moved = current.map(into)
        step = moved.notna() & (moved != current)
        if not step.any():
            break
        current = current.where(~step, moved)
    return current
