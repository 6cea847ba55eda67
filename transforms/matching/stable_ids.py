"""Stable golden-customer IDs: what downstream tools hold on to must not change between runs.

A cluster inherits the ID its records had before. When clusters merge, the oldest ID survives and
the others are recorded as merged into it; when a cluster splits, the part holding most of the old
records keeps the ID and each other part gets a new one, recorded as split from it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

ID_PREFIX = "CUST"


def format_id(number: int) -> str:
    return f"{ID_PREFIX}{number:010d}"


def id_number(customer_id: str) -> int:
    return int(customer_id.removeprefix(ID_PREFIX))


@dataclass(frozen=True)
class IdEvent:
    customer_id: str
    event: str  # created | merged_into | split_from | retired
    related_id: str | None


def _new_ids(start: int) -> Iterator[str]:
    number = start
    while True:
        number += 1
        yield format_id(number)


def assign_ids(clusters: pd.Series, previous: pd.Series, highest_issued: int) -> tuple[pd.Series, list[IdEvent]]:
    """``clusters``: cluster label by unique_id; ``previous``: customer_id by unique_id from the last run.

    Returns the customer_id of every record and the events that explain every change. IDs are
    numbered in order of issue, so the smallest number is the oldest ID.
    """
    fresh = _new_ids(highest_issued)
    old = previous.reindex(clusters.index)
    groups = {label: list(ids) for label, ids in clusters.groupby(clusters, sort=False).groups.items()}
    order = sorted(groups, key=lambda label: min(groups[label]))

    # Each old ID goes to the new cluster holding most of its records (ties: the one seen first).
    holders: dict[str, tuple[int, int]] = {}
    for rank, label in enumerate(order):
        for cid, count in Counter(old.loc[groups[label]].dropna()).items():
            best = holders.get(cid)
            if best is None or count > best[0]:
                holders[cid] = (count, rank)
    kept_by_rank: dict[int, list[str]] = {}
    for cid, (_, rank) in holders.items():
        kept_by_rank.setdefault(rank, []).append(cid)

    assigned: dict[object, str] = {}
    events: list[IdEvent] = []
    for rank, label in enumerate(order):
        kept = sorted(kept_by_rank.get(rank, []), key=id_number)
        lost = sorted(set(old.loc[groups[label]].dropna()) - set(kept), key=id_number)
        if kept:
            survivor = kept[0]
            events += [IdEvent(other, "merged_into", survivor) for other in kept[1:]]
        else:
            survivor = next(fresh)
            events.append(IdEvent(survivor, "created", None))
        events += [IdEvent(survivor, "split_from", source) for source in lost]
        assigned[label] = survivor
    live = set(assigned.values())
    merged = {e.customer_id for e in events if e.event == "merged_into"}
    events += [IdEvent(cid, "retired", None) for cid in sorted(set(previous.dropna()) - live - merged)]
    return clusters.map(assigned), events
