"""Scoring candidate pairs: compare, fit or apply the Fellegi-Sunter model, classify, mark conflicts.

Three outcomes per scored pair: ``match`` (probability at or above the match threshold),
``possible`` (for a steward to review) and ``non_match``. Pairs whose features together speak
strongly against them, and pairs whose full birth dates or whole names plainly differ, become
conflicts that clustering never crosses. Stewards' decisions, when given, are labels (``labels``): the
model learns from them, and a decided pair takes its decision.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from transforms.code_digest import code_digest
from transforms.matching import blocking as blocking_module
from transforms.matching import email_names as email_names_module
from transforms.matching import emails as emails_module
from transforms.matching import features as features_module
from transforms.matching import labels as labels_module
from transforms.matching import levels as levels_module
from transforms.matching import model as model_module
from transforms.matching import nicknames as nicknames_module
from transforms.matching import owners as owners_module
from transforms.matching.email_names import with_names_from_email
from transforms.matching.features import LEVELS, compare
from transforms.matching.labels import Labels, corrected_weights, pattern_corrections, patterns, positions_in
from transforms.matching.model import TERM_FREQUENCY_FEATURES, MatchModel, fit
from transforms.matching.settings import Estimation, MatchSettings, Thresholds

OUTCOMES = ("non_match", "possible", "match")


def classify(probability: np.ndarray, conflict: np.ndarray, thresholds: Thresholds) -> pd.Categorical:
    """The outcome of each pair; a conflict is never a match, whatever its probability."""
    code = np.select([probability >= thresholds.match, probability >= thresholds.possible], [2, 1], 0)
    return pd.Categorical.from_codes(np.where(conflict, 0, code), categories=OUTCOMES)


def hard_conflicts(levels: pd.DataFrame) -> np.ndarray:
    """Pairs no amount of shared contact data can join: a different full birth date, no name in common,
    or one email under two owners (a shared address given with another phone and another home, and no
    birth date in common: a family's or a namesake's address)."""
    birth = levels["birth"].to_numpy()
    names_differ = (levels["first_name"].to_numpy() == 0) & (levels["last_name"].to_numpy() == 0)
    shared_email = levels["email"].to_numpy() == len(LEVELS["email"]) - 1
    elsewhere = np.isin(levels["address"].to_numpy(), (0, LEVELS["address"].index("another home, same postal code")))
    owners_differ = shared_email & (levels["phone"].to_numpy() == 0) & elsewhere & (birth < 2)
    return (birth == 0) | names_differ | owners_differ


def scoring_digest(settings: MatchSettings) -> str:
    """The code and settings stored pairs were found, compared and scored with. Pairs stored under another
    digest are stale: an upgraded hub compares and scores every pair again once, as it clusters and survives
    everyone again after those steps' code changed; an incremental run would otherwise judge only the
    changed records' pairs by the new rules."""
    judges = (
        sys.modules[__name__],
        blocking_module,
        email_names_module,
        emails_module,
        features_module,
        labels_module,
        levels_module,
        model_module,
        nicknames_module,
        owners_module,
    )
    return code_digest(judges, repr(settings))


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


def _labelled_levels(
    records: pd.DataFrame, pairs: np.ndarray, levels: pd.DataFrame, labels: Labels, settings: MatchSettings
) -> tuple[pd.DataFrame, np.ndarray]:
    """The levels of every labelled pair, and where each sits among the candidates (-1: not one).

    Only pairs blocking never proposed are compared afresh (comparing costs a pass over all records).
    """
    where = positions_in(pairs, labels)
    known = (
        levels.iloc[np.clip(where, 0, None)].reset_index(drop=True)
        if len(levels)
        else compare(records, labels.pairs, settings.comparisons)
    )
    outside = where < 0
    if outside.any() and len(levels):
        known.loc[outside] = compare(records, labels.pairs[outside], settings.comparisons).to_numpy()
    return known, where


def _fit(
    records: pd.DataFrame,
    levels: pd.DataFrame,
    settings: MatchSettings,
    labels: Labels,
    label_levels: pd.DataFrame,
    where: np.ndarray,
) -> MatchModel:
    """Fit on the candidates and the labelled pairs blocking missed, decided pairs held at their decision."""
    strangers = random_pairs(len(records), settings.estimation)
    random_levels = compare(records, strangers, settings.comparisons, gate_contacts=False)
    fixed = np.full(len(levels), np.nan)
    fixed[where[where >= 0]] = labels.accepted[where >= 0]
    missed = where < 0
    both = pd.concat([levels, label_levels[missed]], ignore_index=True)
    return fit(both, random_levels, len(records), fixed=np.concatenate([fixed, labels.accepted[missed].astype(float)]))


def compare_pairs(records: pd.DataFrame, pairs: np.ndarray, settings: MatchSettings) -> pd.DataFrame:
    """The feature levels of ``pairs``, as ``score_pairs`` compares them: the costly part, which depends on
    each pair's two records alone (given all records), so slices of the pairs can be compared apart."""
    return compare(with_names_from_email(records), pairs, settings.comparisons)


def score_pairs(
    records: pd.DataFrame,
    pairs: np.ndarray,
    model: MatchModel | None,
    settings: MatchSettings,
    labels: Labels | None = None,
    levels: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, MatchModel]:
    """Feature levels and weights, total weight, probability and outcome of each pair.

    Fits the model when none is given. Records without names are compared by the names their email
    gives, if any. With ``labels`` (stewards' decisions), the fit holds decided pairs at their
    decision, each pattern of levels a steward labelled has its weight corrected by those labels
    (``labels.pattern_corrections``) where the model put the pair up for review (the band the labels
    come from), and a decided pair's outcome is its decision. ``levels`` are the pairs' feature levels
    when they were compared already (by the shards of a partitioned run: ``compare_pairs`` on slices of
    ``pairs``, in order).
    """
    records = with_names_from_email(records)
    labels = labels if labels is not None else Labels.none()
    thresholds = settings.thresholds
    if levels is None:
        levels = compare(records, pairs, settings.comparisons)
    label_levels, where = _labelled_levels(records, pairs, levels, labels, settings)
    if model is None:
        model = _fit(records, levels, settings, labels, label_levels, where)
    frequencies = exact_frequencies(records, pairs)
    contributions = model.contributions(levels, frequencies).astype(np.float32)
    scores = model.score(contributions)
    if len(labels):
        label_scores = model.score(model.contributions(label_levels, exact_frequencies(records, labels.pairs)))
        corrections = pattern_corrections(
            patterns(label_levels), label_scores["match_weight"].to_numpy(), labels.accepted
        )
        band = (scores["match_probability"] >= thresholds.possible) & (scores["match_probability"] < thresholds.match)
        weight = corrected_weights(patterns(levels), scores["match_weight"].to_numpy(), corrections, band.to_numpy())
        scores = pd.DataFrame({"match_weight": weight, "match_probability": 1.0 / (1.0 + np.exp2(-weight))})
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
    if len(labels):
        _take_decisions(scored, labels, where)
    return scored, model


def _take_decisions(scored: pd.DataFrame, labels: Labels, where: np.ndarray) -> None:
    """A decided candidate pair is certain: probability 1 and a match, or 0 and a conflict."""
    rows = where[where >= 0]
    accepted = labels.accepted[where >= 0]
    scored.loc[rows, "match_probability"] = accepted.astype(float)
    scored.loc[rows, "conflict"] = ~accepted
    scored.loc[rows, "outcome"] = np.where(accepted, "match", "non_match")
