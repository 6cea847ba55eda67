"""Stable golden-customer IDs: what downstream tools hold on to must not change between runs.

A cluster inherits the ID its records had before. When clusters merge, the oldest ID survives and
the others are recorded as merged into it; when a cluster splits, the part holding most of the old
records keeps the ID and each other part gets a new one, recorded as split from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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


def assign_ids(clusters: pd.Series, previous: pd.Series, highest_issued: int) -> tuple[pd.Series, list[IdEvent]]:
    """``clusters``: cluster label by unique_id; ``previous``: customer_id by unique_id from the last run.

    Returns the customer_id of every record and the events that explain every change. IDs are
    numbered in order of issue, so the smallest number is the oldest ID. Clusters are taken in the
    order of their smallest record key, which makes the result independent of how labels were drawn.
    """
    keys = clusters.index.astype(str)
    frame = pd.DataFrame({"label": clusters.to_numpy(), "old": previous.reindex(clusters.index).to_numpy()}, index=keys)
    # The smallest key of each cluster, through sorted codes: a minimum over strings has no fast path in pandas.
    codes, _ = pd.factorize(keys, sort=True)
    first_code = pd.Series(codes).groupby(frame["label"].to_numpy()).min()
    rank = first_code.rank(method="first").astype(np.int64)  # label -> position in processing order

    # Each old ID goes to the new cluster holding most of its records (ties: the earlier cluster).
    held = frame.dropna(subset=["old"]).groupby(["old", "label"]).size().rename("records").reset_index()
    held["rank"] = held["label"].map(rank)
    held["number"] = held["old"].map(id_number)
    holders = held.sort_values(["old", "records", "rank"], ascending=[True, False, True]).drop_duplicates("old")
    kept: dict[object, list[str]] = {}  # label -> the old IDs it holds, oldest first
    for label, old in holders.sort_values("number")[["label", "old"]].itertuples(index=False):
        kept.setdefault(label, []).append(old)

    events: list[IdEvent] = []
    assigned: dict[object, str] = {}
    number = highest_issued
    for label in rank.sort_values().index:
        ids = kept.get(label)
        if ids:
            assigned[label] = ids[0]
            events += [IdEvent(other, "merged_into", ids[0]) for other in ids[1:]]
        else:
            number += 1
            assigned[label] = format_id(number)
            events.append(IdEvent(assigned[label], "created", None))

    moved = held.merge(holders[["old", "label"]], on="old", suffixes=("", "_holder"))
    moved = moved[moved["label"] != moved["label_holder"]].sort_values(["rank", "number"])
    events += [
        IdEvent(assigned[label], "split_from", old) for label, old in zip(moved["label"], moved["old"], strict=True)
    ]

    live = set(assigned.values())
    merged = {e.customer_id for e in events if e.event == "merged_into"}
    retired = sorted(set(previous.dropna()) - live - merged, key=id_number)
    events += [IdEvent(cid, "retired", None) for cid in retired]
    return pd.Series(frame["label"].map(assigned).to_numpy(), index=clusters.index), events
