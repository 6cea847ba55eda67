"""The matching run: block, compare, score with the Fellegi-Sunter model, classify, cluster.

Three outcomes per scored pair: ``match`` (probability at or above ``match_threshold``),
``possible`` (for a steward to review) and ``non_match``. Pairs the model scores as strong
non-matches, and pairs whose full birth dates or whole names plainly differ, become conflicts that
clustering never crosses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.matching.blocking import blocking_keys, candidate_pairs
from transforms.matching.clustering import ClusterInput, cluster
from transforms.matching.features import compare
from transforms.matching.model import MatchModel, fit


@dataclass(frozen=True)
class Thresholds:
    match: float = 0.97
    possible: float = 0.5
    conflict_weight: float = -8.0


@dataclass
class MatchResult:
    pairs: pd.DataFrame  # left, right (positions), one column per feature level, weight, probability, outcome
    labels: np.ndarray  # cluster label per record position
    model: MatchModel


def classify(scored: pd.DataFrame, thresholds: Thresholds) -> np.ndarray:
    p = scored["match_probability"].to_numpy()
    return np.select([p >= thresholds.match, p >= thresholds.possible], ["match", "possible"], "non_match")


def hard_conflicts(levels: pd.DataFrame) -> np.ndarray:
    """Pairs no amount of shared contact data can join: a different full birth date, or no name in common."""
    birth_differs = levels["birth"].to_numpy() == 0
    names_differ = (levels["first_name"].to_numpy() == 0) & (levels["last_name"].to_numpy() == 0)
    return birth_differs | names_differ


def score_pairs(
    records: pd.DataFrame, pairs: np.ndarray, model: MatchModel | None, thresholds: Thresholds
) -> tuple[pd.DataFrame, MatchModel]:
    """Feature levels, weight, probability and outcome of each pair; fits the model when none is given."""
    levels = compare(records, pairs)
    if model is None:
        model = fit(levels)
    scored = pd.concat([pd.DataFrame({"left": pairs[:, 0], "right": pairs[:, 1]}), levels, model.score(levels)], axis=1)
    scored["outcome"] = classify(scored, thresholds)
    scored["conflict"] = hard_conflicts(levels) | (scored["match_weight"].to_numpy() <= thresholds.conflict_weight)
    scored.loc[scored["conflict"], "outcome"] = "non_match"
    return scored, model


def cluster_records(size: int, scored: pd.DataFrame, must_links: np.ndarray, cannot_links: np.ndarray) -> np.ndarray:
    matches = scored[scored["outcome"] == "match"]
    conflicts = scored.loc[scored["conflict"], ["left", "right"]].to_numpy()
    return cluster(
        ClusterInput(
            size=size,
            edges=matches[["left", "right"]].to_numpy(),
            edge_weights=matches["match_weight"].to_numpy(),
            conflicts=np.concatenate([conflicts, cannot_links.reshape(-1, 2)]),
            must_links=must_links.reshape(-1, 2),
        )
    )


def match(
    records: pd.DataFrame,
    model: MatchModel | None = None,
    thresholds: Thresholds = Thresholds(),
    must_links: np.ndarray | None = None,
    cannot_links: np.ndarray | None = None,
) -> MatchResult:
    """Match every record against every other (a full run). Links are position pairs."""
    records = records.reset_index(drop=True)
    pairs = candidate_pairs(blocking_keys(records))
    scored, model = score_pairs(records, pairs, model, thresholds)
    empty = np.empty((0, 2), dtype=np.int64)
    labels = cluster_records(
        len(records),
        scored,
        empty if must_links is None else must_links,
        empty if cannot_links is None else cannot_links,
    )
    return MatchResult(scored, labels, model)
