"""Rectified values (Art. 16) over survivorship, until a system changes the value again.

When a person corrects an attribute, the hub remembers a fingerprint of every source record's value
for it at that moment. The correction wins over survivorship for as long as those records still say
what they said then: a system that changes its value later (or a record that appears later with a
value) has been corrected at the source or knows better, and survivorship decides again.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd

from transforms.survivorship import VALUE_COLUMNS

Fingerprint = Callable[[str, object], str]
RULE = "rectification"


def fingerprints(records: pd.DataFrame, attribute: str, fingerprint: Fingerprint) -> dict[str, str]:
    """Fingerprint of each record's current value of ``attribute`` (records without one are left out)."""
    column = VALUE_COLUMNS[attribute]
    held = records[records[column].notna()]
    return {uid: fingerprint(attribute, value) for uid, value in zip(held["unique_id"], held[column], strict=True)}


def still_stands(records: pd.DataFrame, rectification: pd.Series, fingerprint: Fingerprint) -> bool:
    """Whether no system has changed the attribute since the correction."""
    then = json.loads(rectification["source_fingerprints"])
    now = fingerprints(records, rectification["attribute"], fingerprint)
    if any(then.get(uid) != value for uid, value in now.items() if uid in then):
        return False
    newer = records[~records["unique_id"].isin(then) & records["unique_id"].isin(now)]
    return not (newer["updated_at"] > rectification["rectified_at"]).any()


def apply_rectifications(
    golden: pd.DataFrame,
    lineage: pd.DataFrame,
    records: pd.DataFrame,
    rectifications: pd.DataFrame,
    fingerprint: Fingerprint,
) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[str, str]]]:
    """Golden values and lineage with the standing corrections applied; also which no longer stand."""
    if rectifications.empty:
        return golden, lineage, []
    golden = golden.set_index("customer_id")
    lineage = lineage.set_index(["customer_id", "attribute"])
    by_customer = dict(tuple(records.groupby("customer_id")))
    lapsed = []
    for _, row in rectifications.iterrows():
        customer, attribute = row["customer_id"], row["attribute"]
        if customer not in golden.index:
            continue
        own = by_customer.get(customer, records.iloc[0:0])
        if not still_stands(own, row, fingerprint):
            lapsed.append((customer, attribute))
            continue
        golden.loc[customer, attribute] = row["value"]
        lineage.loc[(customer, attribute), ["source_system", "source_key", "source_updated_at", "rule"]] = [
            "dsr",
            row["request_id"],
            row["rectified_at"],
            RULE,
        ]
        lineage.loc[(customer, attribute), "candidates"] = len(fingerprints(own, attribute, fingerprint)) + 1
    return golden.reset_index(), lineage.reset_index(), lapsed
