"""The diff plan of one destination: from what the hub wants now and what it last delivered, what to send.

Reverse-ETL tools keep "last delivered" per destination and key in their own database and diff against
it, never against the tool: reading a tool back is slow, limited, and says nothing about who put what
there. So every input here is the hub's own state, as frames of ``audience``, ``target`` (the tool's
key of a person: member id, account id, member number, or the customer ID for ad lists) and
``payload`` (what the tool holds for that membership beyond the fact: the hashed contacts of an ad
list; '' otherwise).

Modes, per audience:

- ``mirror``: the tool ends up holding exactly the audience, as far as the hub put it there: additions,
  changes and removals of what the hub added and no longer holds. Never what it did not add: a
  membership the tool held before the hub first wanted it (``present``) is adopted, not sent, and
  released (forgotten, not removed) when the hub stops wanting it.
- ``upsert``: additions and changes; nothing is removed.
- ``add_only``: additions only.

Whatever the mode, a person who must leave (``withdrawn``: erased, restricted, objecting, consent
withdrawn, or no longer known to the hub) is removed from every audience of the destination, through
every guard: that is the law, not a sync preference.

Guards, against a broken audience or a lost state deleting what it should not:

- a first sync of a destination, or one whose state was lost (``baseline``), only adds;
- a mirror run that would remove every delivered member of an audience, or more than
  ``max_removal_share`` of them, removes nothing of it without ``force`` (the removals are *held*);
  removals planned by an earlier run and not yet confirmed (``carried``) were approved then and go ahead;
- a file replaced whole is not replaced by one that is much smaller than the last one written
  (``file_held``), which is what a lost state or an empty audience would otherwise do to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import pandas as pd

MIRROR, UPSERT, ADD_ONLY = "mirror", "upsert", "add_only"
MODES = (MIRROR, UPSERT, ADD_ONLY)

ADD, CHANGE, REMOVE = "add", "change", "remove"  # written to the tool
ADOPT, RELEASE = "adopt", "release"  # only the hub's state changes: the tool held it before the hub
SENT_OPERATIONS = (ADD, CHANGE, REMOVE)

KEY = ["audience", "target"]
DESIRED_COLUMNS = ["audience", "target", "payload"]
DELIVERED_COLUMNS = ["audience", "target", "payload", "adopted"]
ITEM_COLUMNS = ["audience", "target", "operation", "payload", "carried"]


@dataclass(frozen=True)
class AudiencePlan:
    """What one audience of a destination needs, and what a guard kept back (``held``) and why (``note``)."""

    audience: str
    mode: str
    wanted: int  # memberships the hub wants now
    delivered: int  # memberships last delivered (adopted ones included)
    adds: int = 0
    changes: int = 0
    removals: int = 0
    held: int = 0
    note: str = ""


@dataclass(frozen=True)
class Plan:
    """The items to send (``items``: ITEM_COLUMNS) and the per-audience account of them."""

    items: pd.DataFrame
    audiences: tuple[AudiencePlan, ...]
    baseline: bool = False

    def count(self, operation: str) -> int:
        return int((self.items["operation"] == operation).sum())

    @property
    def to_send(self) -> pd.DataFrame:
        return self.items[self.items["operation"].isin(SENT_OPERATIONS)]

    @property
    def held(self) -> int:
        return sum(a.held for a in self.audiences)

    def holding(self, audiences: Iterable[str], note: str) -> Plan:
        """The plan with nothing of ``audiences`` sent: every change they needed is held, for ``note``."""
        chosen = set(audiences)
        kept = self.items[~self.items["audience"].isin(chosen)].reset_index(drop=True)
        summaries = tuple(
            replace(a, adds=0, changes=0, removals=0, held=a.held + a.adds + a.changes + a.removals, note=note)
            if a.audience in chosen
            else a
            for a in self.audiences
        )
        return replace(self, items=kept, audiences=summaries)


def plan_destination(
    desired: pd.DataFrame,
    delivered: pd.DataFrame,
    *,
    modes: Mapping[str, str],
    default_mode: str = MIRROR,
    max_removal_share: float = 0.5,
    withdrawn: Iterable[str] = (),
    present: pd.DataFrame | None = None,
    carried: pd.DataFrame | None = None,
    baseline: bool = False,
    force: bool = False,
) -> Plan:
    """The plan of one destination.

    ``desired`` (DESIRED_COLUMNS) is what the hub wants the tool to hold now; ``delivered``
    (DELIVERED_COLUMNS) what the tool confirmed last, ``adopted`` marking memberships it held before the
    hub. ``modes`` gives the mode of each routed audience; an audience only in ``delivered`` (no longer
    routed here) takes ``default_mode``. ``withdrawn`` are targets whose person must leave every
    audience; ``present`` (audience, target) memberships the tool holds that the hub did not deliver;
    ``carried`` (audience, target, operation) items an earlier run planned and no tool confirmed.
    """
    for name, frame, columns in (("desired", desired, DESIRED_COLUMNS), ("delivered", delivered, DELIVERED_COLUMNS)):
        missing = set(columns) - set(frame.columns)
        if missing:
            raise ValueError(f"{name} lacks columns {sorted(missing)}")
    gone_people = set(map(str, withdrawn))
    wanted = desired[DESIRED_COLUMNS].astype({"payload": str})
    wanted = wanted[~wanted["target"].isin(gone_people)].drop_duplicates(KEY)
    held_by_tool = _pairs(present)
    approved = _pairs(carried, operation=REMOVE)
    earlier = _triples(carried)
    merged = wanted.merge(
        delivered[DELIVERED_COLUMNS], on=KEY, how="outer", suffixes=("", "_was"), indicator=True, sort=True
    )
    items: list[pd.DataFrame] = []
    summaries: list[AudiencePlan] = []
    for audience in sorted(set(modes) | set(merged["audience"])):
        rows = merged[merged["audience"] == audience]
        mode = modes.get(audience, default_mode)
        planned, summary = _plan_audience(
            audience, rows, mode, gone_people, held_by_tool, approved, max_removal_share, baseline, force
        )
        items.append(planned)
        summaries.append(summary)
    frame = _concat(items, ITEM_COLUMNS[:-1])
    frame["carried"] = [
        (a, t, o) in earlier for a, t, o in zip(frame["audience"], frame["target"], frame["operation"], strict=True)
    ]
    return Plan(frame[ITEM_COLUMNS].reset_index(drop=True), tuple(summaries), baseline)


def _plan_audience(
    audience: str,
    rows: pd.DataFrame,
    mode: str,
    withdrawn: set[str],
    present: set[tuple[str, str]],
    approved: set[tuple[str, str]],
    max_removal_share: float,
    baseline: bool,
    force: bool,
) -> tuple[pd.DataFrame, AudiencePlan]:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    adopted = rows["adopted"].eq(True)
    new = rows[rows["_merge"] == "left_only"]
    kept = rows[(rows["_merge"] == "both") & ~adopted]
    gone = rows[rows["_merge"] == "right_only"]
    gone_adopted = gone[adopted.loc[gone.index]]
    gone_owned = gone[~adopted.loc[gone.index]]

    is_present = _among(new, audience, present)
    adopt = new[is_present]
    add = new[~is_present]
    differs = kept["payload"].fillna("") != kept["payload_was"].fillna("")
    change = kept[differs] if mode != ADD_ONLY else kept.iloc[0:0]
    must_go = gone_owned[gone_owned["target"].isin(withdrawn)]
    optional = gone_owned[~gone_owned["target"].isin(withdrawn)]

    note, held = "", 0
    if mode != MIRROR:
        optional = optional.iloc[0:0]
    elif baseline and len(optional):
        note, held, optional = "first sync or re-baseline: only additions", len(optional), optional.iloc[0:0]
    elif len(optional) and not force:
        was_approved = _among(optional, audience, approved)
        guarded = optional[~was_approved]
        owned = int(((rows["_merge"] != "left_only") & ~adopted).sum())
        share = len(guarded) / owned if owned else 0.0
        wanted = int((rows["_merge"] != "right_only").sum())
        if len(guarded) and wanted == 0:
            note = f"the audience is empty: {len(guarded)} removals held (force to apply)"
        elif len(guarded) and share > max_removal_share:
            note = (
                f"would remove {share:.0%} of its delivered members, more than {max_removal_share:.0%}: "
                f"{len(guarded)} removals held (force to apply)"
            )
        if note:
            held = len(guarded)
            optional = optional[was_approved]

    parts = [
        _items(audience, add, ADD, "payload"),
        _items(audience, change, CHANGE, "payload"),
        _items(audience, must_go, REMOVE, "payload_was"),
        _items(audience, optional, REMOVE, "payload_was"),
        _items(audience, adopt, ADOPT, "payload"),
        _items(audience, gone_adopted, RELEASE, "payload_was"),
    ]
    planned = _concat(parts, ITEM_COLUMNS[:-1])
    summary = AudiencePlan(
        audience=audience,
        mode=mode,
        wanted=int((rows["_merge"] != "right_only").sum()),
        delivered=int((rows["_merge"] != "left_only").sum()),
        adds=len(add),
        changes=len(change),
        removals=len(must_go) + len(optional),
        held=held,
        note=note,
    )
    return planned, summary


def _items(audience: str, rows: pd.DataFrame, operation: str, payload: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "audience": audience,
            "target": rows["target"].astype(str).to_numpy(),
            "operation": operation,
            "payload": rows[payload].fillna("").astype(str).to_numpy(),
        },
        columns=ITEM_COLUMNS[:-1],
    )


def _among(rows: pd.DataFrame, audience: str, pairs: set[tuple[str, str]]) -> pd.Series:
    """Which of ``rows`` (of one audience) are among ``pairs``, as a mask aligned with them."""
    return pd.Series([(audience, t) in pairs for t in rows["target"]], index=rows.index, dtype=bool)


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """Frames one after the other (empty ones left out, so that they cannot change the columns' types)."""
    full = [f for f in frames if not f.empty]
    return pd.concat(full, ignore_index=True) if full else pd.DataFrame(columns=columns)


def _pairs(frame: pd.DataFrame | None, operation: str | None = None) -> set[tuple[str, str]]:
    if frame is None or frame.empty:
        return set()
    if operation is not None:
        frame = frame[frame["operation"] == operation]
    return set(zip(frame["audience"].astype(str), frame["target"].astype(str), strict=True))


def _triples(frame: pd.DataFrame | None) -> set[tuple[str, str, str]]:
    if frame is None or frame.empty:
        return set()
    return set(zip(frame["audience"], frame["target"], frame["operation"], strict=True))


def applied(delivered: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """What the tool holds once ``items`` are delivered: ``delivered`` with the plan's items applied."""
    touched = set(zip(items["audience"], items["target"], strict=True))
    pairs = zip(delivered["audience"], delivered["target"], strict=True)
    untouched = delivered[pd.Series([p not in touched for p in pairs], index=delivered.index, dtype=bool)]
    written = items[items["operation"].isin((ADD, CHANGE, ADOPT))]
    after = pd.DataFrame(
        {
            "audience": written["audience"].to_numpy(),
            "target": written["target"].to_numpy(),
            "payload": written["payload"].to_numpy(),
            "adopted": (written["operation"] == ADOPT).to_numpy(),
        },
        columns=DELIVERED_COLUMNS,
    )
    return _concat([untouched[DELIVERED_COLUMNS], after], DELIVERED_COLUMNS).sort_values(KEY, ignore_index=True)


def file_held(rows: int, last_rows: int | None, *, max_removal_share: float, force: bool) -> str:
    """Why a file of ``rows`` lines must not replace the last one of ``last_rows`` ('' when it may).

    A file is the tool's whole copy: a much smaller one deletes everyone it leaves out.
    """
    if force or not last_rows or rows >= last_rows:
        return ""
    shrink = 1 - rows / last_rows
    if rows == 0 or shrink > max_removal_share:
        return (
            f"the file would shrink from {last_rows} to {rows} lines, more than {max_removal_share:.0%}: "
            "not replaced (force to apply)"
        )
    return ""
