"""Scores of a clustering against the simulator's ground truth (benchmarks only, never the pipeline)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from hub.simulator import state
from transforms.matching.coherence import homes
from transforms.standardise.names import fold_name


def read_truth(systems_dir: Path) -> pd.Series:
    """person_id by unique_id ('<system>:<source_key>')."""
    truth = pd.read_csv(systems_dir / "truth.csv", dtype=str)
    return pd.Series(truth["person_id"].to_numpy(), index=truth["system"] + ":" + truth["source_key"])


def _pairs_within(labels: pd.Series) -> int:
    sizes = labels.value_counts().to_numpy(dtype=np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


@dataclass(frozen=True)
class PairwiseScores:
    precision: float
    recall: float
    f1: float
    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int


def pairwise_scores(predicted: pd.Series, truth: pd.Series) -> PairwiseScores:
    """Precision and recall over all record pairs that a clustering puts together."""
    truth = truth.reindex(predicted.index)
    both = pd.Series(list(zip(predicted.to_numpy(), truth.to_numpy(), strict=True)), index=predicted.index)
    tp, pp, tt = _pairs_within(both), _pairs_within(predicted), _pairs_within(truth.dropna())
    precision = tp / pp if pp else 1.0
    recall = tp / tt if tt else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairwiseScores(precision, recall, f1, tp, pp, tt)


@dataclass(frozen=True)
class ClusterScores:
    exact_clusters: float  # share of true people whose records form exactly one predicted cluster
    people: int
    predicted_clusters: int


def cluster_scores(predicted: pd.Series, truth: pd.Series) -> ClusterScores:
    truth = truth.reindex(predicted.index)
    frame = pd.DataFrame({"p": predicted.to_numpy(), "t": truth.to_numpy()}).dropna()
    people = frame.groupby("t")["p"].agg(["nunique", "size", "first"])
    predicted_size = frame["p"].value_counts()
    exact = (people["nunique"] == 1) & (people["first"].map(predicted_size).to_numpy() == people["size"])
    return ClusterScores(float(exact.mean()) if len(people) else 1.0, len(people), int(frame["p"].nunique()))


def blocking_recall(pairs: np.ndarray, ids: np.ndarray, truth: pd.Series) -> float:
    """Share of true matching pairs that blocking put in front of the comparison."""
    person = truth.reindex(ids).to_numpy()
    same = person[pairs[:, 0]] == person[pairs[:, 1]] if len(pairs) else np.array([], dtype=bool)
    found = int(same.sum())
    total = _pairs_within(pd.Series(person).dropna())
    return found / total if total else 1.0


@dataclass(frozen=True)
class NameScores:
    right_fields: float  # share of golden customers whose names are not in each other's field
    swapped: int  # golden customers with their person's surname as first name or first name as last name
    customers: int  # golden customers with a name and a person behind their records


def golden_name_scores(golden: pd.DataFrame, predicted: pd.Series, truth: pd.Series, systems_dir: Path) -> NameScores:
    """Whether golden names sit in the right fields: ``golden`` has first_name and last_name by customer_id,
    ``predicted`` is the customer_id by unique_id. A customer stands for the person behind most of its
    records, with the names the simulator gave that person (the surname before a marriage counts too)."""
    pop = state.load(systems_dir)[0]
    person = pd.DataFrame({"customer": predicted, "person": truth.reindex(predicted.index)}).dropna()
    person = person.groupby("customer")["person"].agg(lambda p: p.mode().iloc[0]).str[1:].astype(int)
    named = golden[golden.index.isin(person.index)][["first_name", "last_name"]].dropna(how="all")
    swapped = 0
    for first, last, p in zip(named["first_name"], named["last_name"], person.reindex(named.index), strict=True):
        true_first, surnames = fold_name(pop.first[p]), {fold_name(n) for n in (pop.last[p], pop.maiden[p]) if n}
        typed_first, typed_last = (fold_name(n) if isinstance(n, str) else None for n in (first, last))
        swapped += (typed_first in surnames and typed_first != true_first) or (
            typed_last == true_first and typed_last not in surnames
        )
    return NameScores(1 - swapped / len(named) if len(named) else 1.0, swapped, len(named))


# What can tell two people's records apart, in the order a false merge is put down to: the first that does.
# ``home`` is a record's home as the home rule has it (``coherence.homes``).
TELLING_APART = ("phone", "birth_month_day", "postal_code", "home", "email")


@dataclass(frozen=True)
class FalseMerges:
    """The record pairs a clustering wrongly puts together, by the first attribute on which the two people's
    records in that cluster share no value (both having some); ``nothing`` where none does. Those cannot be
    told apart by any rule over these attributes, so they bound the precision such rules can reach."""

    pairs_by_evidence: dict[str, int]
    precision_bound: float  # precision if only the ``nothing`` pairs were left, everything else the same


def false_merges(records: pd.DataFrame, predicted: pd.Series, truth: pd.Series) -> FalseMerges:
    """``records`` by unique_id with the ``TELLING_APART`` columns (``street`` and ``street_name`` for the home);
    ``predicted`` and ``truth`` by unique_id."""
    records = records.assign(home=homes(records))
    frame = records.reindex(predicted.index)[list(TELLING_APART)].assign(
        cluster=predicted.to_numpy(), person=truth.reindex(predicted.index).to_numpy()
    )
    frame = frame.dropna(subset=["person"])
    mixed = frame[frame.groupby("cluster")["person"].transform("nunique") > 1]
    counts = dict.fromkeys((*TELLING_APART, "nothing"), 0)
    for _, cluster in mixed.groupby("cluster"):
        people = [
            (len(rows), {c: set(rows[c].dropna()) for c in TELLING_APART}) for _, rows in cluster.groupby("person")
        ]
        for (n_a, a), (n_b, b) in combinations(people, 2):
            apart = next((c for c in TELLING_APART if a[c] and b[c] and a[c].isdisjoint(b[c])), "nothing")
            counts[apart] += n_a * n_b
    avoidable = sum(counts.values()) - counts["nothing"]
    kept = _pairs_within(predicted) - avoidable
    return FalseMerges(counts, 1 - counts["nothing"] / kept if kept else 1.0)
