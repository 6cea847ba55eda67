"""An unsupervised Fellegi-Sunter model over multi-level agreement.

u (how often strangers agree at each level) is measured directly on random record pairs, which are
almost all non-matches; m (how often the same person agrees) and the prior (the chance that two
random records are one person) are then estimated by expectation-maximisation with u held fixed.
Holding u fixed, and using the prior of random pairs rather than of blocked candidates, keeps EM
from drifting into a solution where 'match' means 'relative' or 'namesake'. No ground truth is used.

For exact name agreement, u is replaced by the frequency of the name itself (a term-frequency
adjustment): two 'Virtanen's agree far more often by chance than two 'Pyykkönen's.

The weight of a pair is log2 of the prior odds plus, per feature, log2(m/u) of its level; a
missing value adds nothing. Each term is kept, so every pair can be explained.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from transforms.matching.levels import LEVELS, MISSING

FLOOR = 1e-9
M_FLOOR = 1e-3  # no agreement level is impossible for one person: keeps EM from ruling a level out
TERM_FREQUENCY_FEATURES = ("first_name", "last_name")


@dataclass
class MatchModel:
    """Prior probability of a match among candidates, and m/u per feature and level."""

    prior: float
    m: dict[str, np.ndarray]
    u: dict[str, np.ndarray]
    iterations: int = 0
    history: list[float] = field(default_factory=list)
    current: bool = True  # False when read from rows of other levels than the code compares: fit again
    labels: tuple[int, int] = (0, 0)  # stewards' decisions it learned from: (accepted, rejected)

    def level_weights(self) -> dict[str, np.ndarray]:
        """log2(m/u) per feature and level: the evidence each level carries."""
        return {f: np.log2(self.m[f] / self.u[f]) for f in self.m}

    def prior_weight(self) -> float:
        return float(np.log2(self.prior / (1 - self.prior)))

    def contributions(self, levels: pd.DataFrame, exact_frequency: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
        """Per pair and feature, the weight its level adds (0 where the value is missing).

        ``exact_frequency`` gives, per feature, the frequency of each pair's value where the pair
        agrees exactly; it replaces u for those pairs.
        """
        weights = self.level_weights()
        out = {}
        for feature in self.m:
            lv = levels[feature].to_numpy()
            contribution = np.where(lv == MISSING, 0.0, weights[feature][np.clip(lv, 0, None)])
            if exact_frequency is not None and feature in exact_frequency:
                top = len(self.m[feature]) - 1
                exact = lv == top
                adjusted = np.log2(self.m[feature][top] / np.clip(exact_frequency[feature], FLOOR, None))
                contribution = np.where(exact, adjusted, contribution)
            out[feature] = contribution
        return pd.DataFrame(out, index=levels.index)

    def score(self, contributions: pd.DataFrame) -> pd.DataFrame:
        """Match weight and probability of every pair from its feature contributions."""
        weight = self.prior_weight() + contributions.sum(axis=1).to_numpy()
        return pd.DataFrame({"match_weight": weight, "match_probability": 1.0 / (1.0 + np.exp2(-weight))})

    def to_rows(self) -> list[dict]:
        rows = [
            {"feature": "_prior", "level": 0, "level_name": "prior", "m": self.prior, "u": 1 - self.prior},
            # Not a probability: how many labelled matches (m) and non-matches (u) the model learned from.
            {"feature": "_labels", "level": 0, "level_name": "labels", "m": self.labels[0], "u": self.labels[1]},
        ]
        for feature, names in LEVELS.items():
            for level, name in enumerate(names):
                rows.append(
                    {
                        "feature": feature,
                        "level": level,
                        "level_name": name,
                        "m": float(self.m[feature][level]),
                        "u": float(self.u[feature][level]),
                    }
                )
        return rows

    @classmethod
    def from_rows(cls, rows: list[dict]) -> MatchModel:
        """The stored model; not ``current`` (and empty) when it was fitted with other levels than the code
        compares today (a level added or renamed): its m and u would land in the wrong levels."""
        prior = next(r["m"] for r in rows if r["feature"] == "_prior")
        labels = next(((int(r["m"]), int(r["u"])) for r in rows if r["feature"] == "_labels"), (0, 0))
        stored = {(r["feature"], r["level"], r["level_name"]) for r in rows if r["feature"] in LEVELS}
        if stored != {(f, level, name) for f, names in LEVELS.items() for level, name in enumerate(names)}:
            return cls(prior=prior, m={}, u={}, current=False, labels=labels)
        m = {f: np.zeros(len(n)) for f, n in LEVELS.items()}
        u = {f: np.zeros(len(n)) for f, n in LEVELS.items()}
        for r in rows:
            if r["feature"] in LEVELS:
                m[r["feature"]][r["level"]] = r["m"]
                u[r["feature"]][r["level"]] = r["u"]
        return cls(prior=prior, m=m, u=u, labels=labels)


def _distribution(
    levels: np.ndarray, count: int, weights: np.ndarray | None = None, floor: float = FLOOR
) -> np.ndarray:
    known = levels != MISSING
    totals = np.bincount(levels[known], weights=None if weights is None else weights[known], minlength=count)
    shares = np.clip(totals / max(totals.sum(), FLOOR), floor, None)
    return shares / shares.sum()


def estimate_u(random_levels: pd.DataFrame) -> dict[str, np.ndarray]:
    """u per level: agreement among random pairs, which are non-matches but for a vanishing few.

    A level no random pair reached counts as reached by half a pair: the sample cannot tell rarer
    from never, and a u of almost nothing would let that level (a phone one digit off, an email
    one letter off) outweigh every other piece of evidence.
    """
    u = {}
    for f, names in LEVELS.items():
        levels = random_levels[f].to_numpy()
        u[f] = _distribution(levels, len(names), floor=0.5 / max(int((levels != MISSING).sum()), 1))
    return u


def _initial_m(count: int) -> np.ndarray:
    ramp = np.arange(1, count + 1, dtype=float) ** 3
    return ramp / ramp.sum()


def fit(
    candidate_levels: pd.DataFrame,
    random_levels: pd.DataFrame,
    record_count: int,
    max_iterations: int = 200,
    tolerance: float = 1e-4,
    fixed: np.ndarray | None = None,
) -> MatchModel:
    """u from random pairs; then EM for m and the prior with u fixed.

    The prior is the probability that two records drawn at random are the same person. EM runs over
    the candidate pairs only: a pair blocking never proposed has a vanishing posterior, so it adds
    nothing to m and only its count to the denominator of the prior. ``fixed`` (one value per candidate,
    NaN where unknown) holds the membership stewards decided: those pairs keep it in every iteration
    (semi-supervised EM), and the model remembers how many it learned from.
    """
    features = list(LEVELS)
    u = estimate_u(random_levels)
    m = {f: _initial_m(len(LEVELS[f])) for f in features}
    arrays = {f: candidate_levels[f].to_numpy() for f in features}
    all_pairs = max(record_count * (record_count - 1) / 2, 1.0)
    log_u = np.zeros(len(candidate_levels))
    for f in features:
        known = arrays[f] != MISSING
        log_u[known] += np.log(u[f][arrays[f][known]])
    prior = 1.0 / max(record_count, 2)
    fixed = np.full(len(candidate_levels), np.nan) if fixed is None else fixed
    decided = ~np.isnan(fixed)
    labels = (int((fixed[decided] >= 0.5).sum()), int((fixed[decided] < 0.5).sum()))
    history: list[float] = []
    for _ in range(max_iterations):
        log_m = np.zeros(len(candidate_levels))
        for f in features:
            known = arrays[f] != MISSING
            log_m[known] += np.log(m[f][arrays[f][known]])
        odds = np.log(prior) + log_m - np.log(1 - prior) - log_u
        posterior = 1.0 / (1.0 + np.exp(-np.clip(odds, -700, 700)))
        posterior[decided] = fixed[decided]
        new_prior = float(np.clip(posterior.sum() / all_pairs, 1e-12, 0.5))
        m = {f: _distribution(arrays[f], len(LEVELS[f]), posterior, M_FLOOR) for f in features}
        history.append(new_prior)
        converged = abs(np.log(new_prior / prior)) < tolerance
        prior = new_prior
        if converged:
            break
    return MatchModel(prior=prior, m=m, u=u, iterations=len(history), history=history, labels=labels)
