"""Survivorship: the golden value of each attribute, chosen by configurable rules, with lineage.

The rules come as a mapping of the shape of ``hub/settings/survivorship.toml`` (the hub reads the file).
Every golden value records where it came from: which system, which record, when that record changed,
and which rule decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

RULES = ("trust", "recency", "completeness", "frequency")

# Golden attribute -> the column of the standardised records holding its display value.
VALUE_COLUMNS = {
    "first_name": "first_name_display",
    "last_name": "last_name_display",
    "email": "email",
    "phone": "phone",
    "birth_date": "birth_date",
    "street": "street_display",
    "postal_code": "postal_code",
    "city": "city_display",
}


@dataclass(frozen=True)
class AttributeRule:
    rules: tuple[str, ...]
    trust: dict[str, float]


def rules_from(config: Mapping[str, Any]) -> dict[str, AttributeRule]:
    """The rules per attribute from ``{"attributes": {name: {"rules": [...], "trust": {...}}}}``, validated."""
    rules = {}
    for attribute, spec in config["attributes"].items():
        unknown = set(spec["rules"]) - set(RULES)
        if attribute not in VALUE_COLUMNS or unknown:
            raise ValueError(f"survivorship rules: unknown attribute or rule in [{attribute}]: {unknown or ''}")
        rules[attribute] = AttributeRule(tuple(spec["rules"]), dict(spec.get("trust", {})))
    return rules


def survive(records: pd.DataFrame, rules: dict[str, AttributeRule]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Golden values (one row per customer_id) and lineage (one row per customer and attribute).

    ``records`` are standardised source records with a ``customer_id`` column. A record its system
    soft-deleted (``soft_deleted``) is still the customer's but offers no value: a customer known only
    from such records has a golden row without values.
    """
    golden = pd.DataFrame(index=pd.Index(sorted(records["customer_id"].unique()), name="customer_id"))
    offering = ~records["soft_deleted"].astype(bool) if "soft_deleted" in records else True
    lineage_parts = []
    for attribute, rule in rules.items():
        column = VALUE_COLUMNS[attribute]
        candidates = records.loc[
            records[column].notna() & offering,
            ["customer_id", "unique_id", "source_system", "source_key", "updated_at", column],
        ]
        if candidates.empty:
            golden[attribute] = None
            continue
        candidates = candidates.rename(columns={column: "value"})
        keys = _ranking_keys(candidates, rule)
        ranked = candidates.assign(**keys).sort_values(
            ["customer_id", *keys, "unique_id"], ascending=[True] + [False] * len(keys) + [True], kind="stable"
        )
        winners = ranked.drop_duplicates("customer_id", keep="first")
        runner_up = ranked[~ranked.index.isin(winners.index)].drop_duplicates("customer_id", keep="first")
        decided_by = _deciding_rule(winners, runner_up, list(keys))
        golden[attribute] = winners.set_index("customer_id")["value"]
        lineage_parts.append(
            pd.DataFrame(
                {
                    "customer_id": winners["customer_id"].to_numpy(),
                    "attribute": attribute,
                    "source_system": winners["source_system"].to_numpy(),
                    "source_key": winners["source_key"].to_numpy(),
                    "source_updated_at": winners["updated_at"].to_numpy(),
                    "rule": decided_by,
                    "candidates": winners["customer_id"].map(candidates["customer_id"].value_counts()).to_numpy(),
                }
            )
        )
    lineage = pd.concat(lineage_parts, ignore_index=True) if lineage_parts else pd.DataFrame()
    return golden.reset_index(), lineage


def _ranking_keys(candidates: pd.DataFrame, rule: AttributeRule) -> dict[str, pd.Series]:
    keys = {}
    for name in rule.rules:
        if name == "trust":
            keys["_trust"] = candidates["source_system"].map(rule.trust).fillna(0.0)
        elif name == "recency":
            keys["_recency"] = candidates["updated_at"].fillna(pd.Timestamp(0, tz="UTC"))
        elif name == "completeness":
            keys["_completeness"] = candidates["value"].astype(str).str.len()
        elif name == "frequency":
            keys["_frequency"] = candidates.groupby(["customer_id", "value"])["value"].transform("size")
    return keys


def _deciding_rule(winners: pd.DataFrame, runner_up: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """The first rule on which the winner beat the best other candidate ('only candidate' if alone)."""
    second = runner_up.set_index("customer_id").reindex(winners["customer_id"])
    decided = np.full(len(winners), "tie: record key", dtype=object)
    undecided = np.ones(len(winners), dtype=bool)
    for key in keys:
        differs = (winners[key].to_numpy() != second[key].to_numpy()) & undecided
        decided[differs] = key.lstrip("_")
        undecided &= ~differs
    decided[second["unique_id"].isna().to_numpy()] = "only candidate"
    return decided
