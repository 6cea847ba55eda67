"""Survivorship: the golden value of each attribute, chosen by configurable rules, with lineage.

The rules come as a mapping of the shape of ``hub/settings/survivorship.toml`` (the hub reads the file).
Every golden value records where it came from: which system, which record, when that record changed,
and which rule decided.

Before the rules run, records whose first and last name were typed the other way round are put right
(``name_order``): a clerk who writes 'Virtanen Hannele' in the most trusted system must not give the
golden customer the first name Virtanen. The other records of the customer decide first; where they
cannot (a record alone, or as many records in one order as in the other), name statistics of all the
landed records do, and only when they are clear. The lineage of a name taken from such a record says so.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from transforms.code_digest import code_digest

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


@dataclass(frozen=True)
class NameOrder:
    """How clear name statistics must be before they turn a record's names round.

    A token (a folded name part) is clearly a first name when the other records show it at least
    ``min_observations`` times in either field, and ``min_ratio`` times as often as a first name as as
    a last name (counts plus one); clearly a last name the other way round. A record is turned only
    when every token of both fields leans to the other field and one of them is clear, so rare names
    alone never decide and a name used both ways (Lauri, Elias) keeps a record as typed.
    """

    min_observations: int
    min_ratio: float


def rules_from(config: Mapping[str, Any]) -> dict[str, AttributeRule]:
    """The rules per attribute from ``{"attributes": {name: {"rules": [...], "trust": {...}}}}``, validated."""
    rules = {}
    for attribute, spec in config["attributes"].items():
        unknown = set(spec["rules"]) - set(RULES)
        if attribute not in VALUE_COLUMNS or unknown:
            raise ValueError(f"survivorship rules: unknown attribute or rule in [{attribute}]: {unknown or ''}")
        rules[attribute] = AttributeRule(tuple(spec["rules"]), dict(spec.get("trust", {})))
    return rules


def name_order_from(config: Mapping[str, Any]) -> NameOrder | None:
    """The ``[name_order]`` table of the rules, validated; None when the rules have none (names kept as typed)."""
    spec = config.get("name_order")
    if spec is None:
        return None
    order = NameOrder(int(spec["min_observations"]), float(spec["min_ratio"]))
    if order.min_observations < 1 or order.min_ratio <= 1:
        raise ValueError("survivorship rules: [name_order] needs min_observations >= 1 and min_ratio > 1")
    return order


def survivorship_digest(config: Mapping[str, Any]) -> str:
    """A digest of what decides golden values: this module's code and the rules (``config``)."""
    return code_digest((sys.modules[__name__],), json.dumps(config, sort_keys=True, default=str))


def sources_digests(members: pd.DataFrame, survivorship: str) -> pd.Series:
    """Per customer, a digest of its records' raw fingerprints and of ``survivorship_digest``: equal to the
    one stored with its golden row, its golden values would come out the same, so it need not be survived
    again. ``members``: ``customer_id``, ``unique_id``, ``raw_fingerprint``, one row per record.

    The digest is a sum of the records' hashes (modulo 2**64), so the records' order does not matter, followed
    by ``survivorship``, which is the same for every record and so is not hashed a million times.
    """
    hashed = pd.util.hash_pandas_object(members[["unique_id", "raw_fingerprint"]], index=False)
    sums = pd.Series(hashed.to_numpy(), index=members["customer_id"].to_numpy()).groupby(level=0).sum()
    return (sums.astype(str) + ":" + survivorship).rename_axis("customer_id")


def records_part(digests: pd.Series) -> pd.Series:
    """Of ``sources_digests``, the part that says which records a customer holds and what they say (not the
    survivorship rules, which change nothing that depends on records alone, such as consent)."""
    return digests.str.partition(":")[0].where(digests.notna())


def survive(
    records: pd.DataFrame,
    rules: dict[str, AttributeRule],
    name_order: NameOrder | None = None,
    statistics: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Golden values (one row per customer_id) and lineage (one row per customer and attribute).

    ``records`` are standardised source records with a ``customer_id`` column. A record its system
    soft-deleted (``soft_deleted``) is still the customer's but offers no value: a customer known only
    from such records has a golden row without values. With ``name_order``, records with swapped
    names offer them in the right fields (see ``swapped_names``); ``statistics`` are the name
    statistics to judge by (``name_statistics`` of a landing that includes ``records``), by default
    those of ``records`` themselves: all the landed records.
    """
    golden = pd.DataFrame(index=pd.Index(sorted(records["customer_id"].unique()), name="customer_id"))
    corrected = pd.Series(None, index=records.index, dtype=object)
    if name_order is not None:
        corrected = swapped_names(records, name_order, name_statistics(records) if statistics is None else statistics)
        turned = corrected.notna()
        first, last = VALUE_COLUMNS["first_name"], VALUE_COLUMNS["last_name"]
        records = records.copy()
        records.loc[turned, [first, last]] = records.loc[turned, [last, first]].to_numpy()
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
        if attribute in ("first_name", "last_name"):
            reason = corrected.reindex(winners.index)
            noted = reason.notna().to_numpy()
            decided_by[noted] = [
                f"{d}; name order corrected by {r}" for d, r in zip(decided_by[noted], reason[noted], strict=True)
            ]
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


NAME_FIELDS = (("first", "first_name"), ("last", "last_name"))  # side, folded column
BY_SOURCES = "other sources"
BY_STATISTICS = "name statistics"


def name_statistics(records: pd.DataFrame) -> pd.DataFrame:
    """How often each folded name token was typed as a first name and as a last name, over ``records``.

    Why: whether 'virtanen' is a first or a last name is a fact about the population, and the landed
    records are the hub's sample of it; the few records that typed a name the wrong way round do not
    move the ratio of a common name. Index: token; columns ``first`` and ``last`` (counts).
    """
    counts = {side: _split(records[column]).value_counts() for side, column in NAME_FIELDS}
    return pd.DataFrame(counts).fillna(0).astype(np.int64).rename_axis("token")


def _split(names: pd.Series) -> pd.Series:
    """The distinct tokens of each folded name, one row each, under the name's index label.

    Each distinct name is split once: a million records hold far fewer names.
    """
    codes, distinct = pd.factorize(names)
    tokens = pd.Series(distinct).map(lambda name: list(dict.fromkeys(name.split()))).explode().dropna()
    held = codes >= 0
    rows = pd.DataFrame({"label": names.index[held], "code": codes[held]})
    rows = rows.merge(tokens.rename("token"), left_on="code", right_index=True)
    return pd.Series(rows["token"].to_numpy(), index=rows["label"].to_numpy())


def swapped_names(records: pd.DataFrame, order: NameOrder, statistics: pd.DataFrame) -> pd.Series:
    """Per record, why its first and last name are taken the other way round (None: as typed).

    Two records of a customer agree on the order when they share more tokens in the same field than
    across the fields, and disagree when the other way round ('Virtanen Hannele' against 'Hannele
    Virtanen', or against 'Hanna Virtanen'). Records linked this way fall into two camps; the smaller
    camp is turned round (BY_SOURCES). Where the camps are equal, and for a record that agrees or
    disagrees with no other (one alone), the records' statistics verdicts decide (BY_STATISTICS), and
    when those are not clear the names stay as typed.
    """
    reasons = pd.Series(None, index=records.index, dtype=object)
    tokens = _name_tokens(records)
    if tokens.empty:
        return reasons
    verdicts = _statistics_verdicts(tokens, order, statistics)
    relations = _relations(tokens)
    related = pd.unique(relations[["left", "right"]].to_numpy().ravel())
    reasons.loc[verdicts.index[(verdicts > 0).to_numpy() & ~verdicts.index.isin(related)]] = BY_STATISTICS
    disputed = relations["customer"].isin(relations.loc[relations["relation"] < 0, "customer"])
    for _, edges in relations[disputed].groupby("customer"):
        for camp, reason in _camps_to_turn(edges, verdicts):
            reasons.loc[camp] = reason
    return reasons


def _name_tokens(records: pd.DataFrame) -> pd.DataFrame:
    """One row per record (its index label ``pos``), field ('first', 'last') and distinct folded token,
    with ``customer`` and ``key`` (customer and token together) as integer codes for joining."""
    parts = []
    for side, column in NAME_FIELDS:
        split = _split(records[column])
        parts.append(pd.DataFrame({"pos": split.index, "field": side, "token": split.to_numpy()}))
    tokens = pd.concat(parts, ignore_index=True).drop_duplicates()
    tokens["customer"] = pd.factorize(records["customer_id"].reindex(tokens["pos"]))[0]
    tokens["key"] = pd.factorize(tokens["customer"] * (len(tokens) + 1) + pd.factorize(tokens["token"])[0])[0]
    return tokens


def _statistics_verdicts(tokens: pd.DataFrame, order: NameOrder, statistics: pd.DataFrame) -> pd.Series:
    """Per record: 1 when the statistics say its names are swapped, -1 when they say they are in order,
    0 when they cannot tell.

    A record is judged by the other records: its own tokens are taken off the counts, or a rare name
    typed the wrong way round would be its own evidence. Swapped means every token of both fields leans
    to the other field (was seen there more often) and at least one is clear (``NameOrder``): one rare
    name never decides, and a name used both ways (Lauri) stops a swap by not leaning.
    """
    is_first = tokens["field"].to_numpy() == "first"
    first = statistics["first"].reindex(tokens["token"]).fillna(0).to_numpy() - is_first
    last = statistics["last"].reindex(tokens["token"]).fillna(0).to_numpy() - ~is_first
    seen = first + last >= order.min_observations
    clear_first, clear_last = (
        seen & (first + 1 >= order.min_ratio * (last + 1)),
        seen & (last + 1 >= order.min_ratio * (first + 1)),
    )
    side = np.select([clear_first, clear_last, first > last, last > first], [2, -2, 1, -1], 0)
    fit = pd.DataFrame({"pos": tokens["pos"], "first": is_first, "fit": np.where(is_first, side, -side)})
    per_field = fit.groupby(["pos", "first"])["fit"].agg(["min", "max"]).unstack("first")
    per_field = per_field.reindex(columns=pd.MultiIndex.from_product([["min", "max"], [True, False]])).dropna()
    lowest, highest = per_field["min"], per_field["max"]
    right = (lowest.min(axis=1) >= 1) & (highest.max(axis=1) == 2)
    wrong = (highest.max(axis=1) <= -1) & (lowest.min(axis=1) == -2)
    return pd.Series(np.select([wrong, right], [1, -1], 0), index=per_field.index)


def _relations(tokens: pd.DataFrame) -> pd.DataFrame:
    """Pairs of records of one customer that share a name token (``left``, ``right``, ``customer``):
    relation 1 when more shared tokens sit in the same field in both than across, -1 the other way."""
    columns = ["key", "customer", "pos", "field"]
    shared = tokens[columns].merge(tokens[["key", "pos", "field"]], on="key", suffixes=("", "_r"))
    shared = shared[shared["pos"] < shared["pos_r"]]
    vote = np.where(shared["field"].to_numpy() == shared["field_r"].to_numpy(), 1, -1)
    relation = np.sign(shared.assign(vote=vote).groupby(["customer", "pos", "pos_r"])["vote"].sum())
    relation = relation[relation != 0].rename("relation").reset_index()
    return relation.rename(columns={"pos": "left", "pos_r": "right"})


def _camps_to_turn(edges: pd.DataFrame, verdicts: pd.Series) -> list[tuple[list, str]]:
    """For one customer's relations, the camps of records to turn round, each with its reason."""
    neighbours: dict[Any, list[tuple[Any, int]]] = {}
    for left, right, relation in zip(edges["left"], edges["right"], edges["relation"], strict=True):
        neighbours.setdefault(left, []).append((right, relation))
        neighbours.setdefault(right, []).append((left, relation))
    colour: dict[Any, int] = {}
    out = []
    for start in sorted(neighbours):
        if start in colour:
            continue
        colour[start], queue, component = 0, [start], [start]
        while queue:
            here = queue.pop()
            for there, relation in neighbours[here]:
                if there not in colour:
                    colour[there] = colour[here] if relation > 0 else 1 - colour[here]
                    queue.append(there)
                    component.append(there)
        camps = [[p for p in component if colour[p] == c] for c in (0, 1)]
        if not camps[1]:
            continue  # every record of this group agrees
        if len(camps[0]) != len(camps[1]):
            out.append((min(camps, key=len), BY_SOURCES))
            continue
        evidence = sum(verdicts.get(p, 0) for p in camps[0]) - sum(verdicts.get(p, 0) for p in camps[1])
        if evidence:
            out.append((camps[0] if evidence > 0 else camps[1], BY_STATISTICS))
    return out


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
