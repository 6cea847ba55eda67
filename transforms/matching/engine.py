"""Scoring candidate pairs: compare, fit or apply the Fellegi-Sunter model, classify, mark conflicts.

Three outcomes per scored pair: ``match`` (probability at or above the match threshold),
``possible`` (for a steward to review) and ``non_match``. Pairs whose features together speak
strongly against them, and pairs whose full birth dates or whole names plainly differ, become
conflicts that clustering never crosses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.matching.email_names import with_names_from_email
from transforms.matching.features import LEVELS, compare
from transforms.matching.model import TERM_FREQUENCY_FEATURES, MatchModel, fit
from transforms.matching.settings import Estimation, MatchSettings, Thresholds

OUTCOMES = ("non_match", "possible", "match")


def classify(probability: np.ndarray, conflict: np.ndarray, thresholds: Thresholds) -> pd.Categorical:
    """The outcome of each pair; a conflict is never a match, whatever its probability."""
    code = np.select([probability >= thresholds.match, probability >= thresholds.possible], [2, 1], 0)
    return pd.Categorical.from_codes(np.where(conflict, 0, code), categories=OUTCOMES)


def hard_conflicts(levels: pd.DataFrame) -> np.ndarray:
    """Pairs no amount of shared contact data can join: a different full birth date, no name in common,
    or one email under two owners (a shared address given with another phone and another postal
    address, and no birth date in common: a family's or a namesake's address)."""
    birth = levels["birth"].to_numpy()
    names_differ = (levels["first_name"].to_numpy() == 0) & (levels["last_name"].to_numpy() == 0)
    shared_email = levels["email"].to_numpy() == len(LEVELS["email"]) - 1
    owners_differ = shared_email & (levels["phone"].to_numpy() == 0) & (levels["address"].to_numpy() == 0) & (birth < 2)
    return (birth == 0) | names_differ | owners_differ


def random_pairs(size: int, estimation: Estimation) -> np.ndarray:
    """Random record pairs (deterministic), for measuring how often strangers agree."""
    rng = np.random.default_rng(estimation.seed)
    pairs = rng.integers(0, size, size=(min(estimation.random_pairs, size * (size - 1) // 2 or 1), 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs.sort(axis=1)
    return pairs


def exact_frequencies(records: pd.DataFrame, pairs: np.ndarray) -> dict[str, np.ndarray]:
    """Per name feature, how common the left record's value is: the u of an exact agreement on it.

    A name counts as common as its most common use in either field, so that a surname typed into
    the first-name field (and matched against the other record's surname) is not mistaken for a rare
    first name.
    """
    shares = [records[f].value_counts(normalize=True) for f in TERM_FREQUENCY_FEATURES]
    either = pd.concat(shares, axis=1).max(axis=1)
    out = {}
    for feature in TERM_FREQUENCY_FEATURES:
        share = records[feature].map(either).to_numpy(dtype=float)
        out[feature] = share[pairs[:, 0]] if len(pairs) else np.empty(0)
    return out


def compare_pairs(records: pd.DataFrame, pairs: np.ndarray, settings: MatchSettings) -> pd.DataFrame:
    """The feature levels of ``pairs``, as ``score_pairs`` compares them: the costly part, which depends on
    each pair's two records alone (given all records), so slices of the pairs can be compared apart."""
    return compare(with_names_from_email(records), pairs, settings.comparisons)


def score_pairs(
    records: pd.DataFrame,
    pairs: np.ndarray,
    model: MatchModel | None,
    settings: MatchSettings,
    levels: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, MatchModel]:
    """Feature levels and weights, total weight, probability and outcome of each pair.

    Fits the model when none is given. Records without names are compared by the names their email
    gives, if any. ``levels`` are the pairs' feature levels when they were compared already (by the
    shards of a partitioned run: ``compare_pairs`` on slices of ``pairs``, in order).
    """
    records = with_names_from_email(records)
    thresholds = settings.thresholds
    if levels is None:
        levels = compare(records, pairs, settings.comparisons)
    if model is None:
        strangers = random_pairs(len(records), settings.estimation)
        random_levels = compare(records, strangers, settings.comparisons, gate_contacts=False)
        model = fit(levels, random_levels, len(records))
    contributions = model.contributions(levels, exact_frequencies(records, pairs)).astype(np.float32)
    scores = model.score(contributions)
    conflict = hard_conflicts(levels) | (contributions.sum(axis=1).to_numpy() <= thresholds.conflict_evidence)
    scored = pd.concat(
        [
            pd.DataFrame({"left": pairs[:, 0], "right": pairs[:, 1]}),
            levels,
            contributions.add_prefix("weight_"),
            scores,
        ],
        axis=1,
    )
    scored["outcome"] = classify(scores["match_probability"].to_numpy(), conflict, thresholds)
    scored["conflict"] = conflict
    return scored, model
