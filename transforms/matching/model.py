"""An unsupervised Fellegi-Sunter model over multi-level agreement, fitted by EM on candidate pairs.

Both the m (agreement among true matches) and u (agreement among non-matches) probabilities are
estimated on the candidate pairs themselves rather than u on random pairs: among candidates,
non-matches are mostly relatives and namesakes, who share an address, a family email or a name far
more often than random strangers do. Estimating u where those people are is what keeps a shared
family email from looking like proof of identity. No ground truth is used.

The weight of a pair is log2 of the prior odds plus, for each feature, log2(m/u) of its level; a
missing value contributes nothing. Each term is kept, so every pair can be explained.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from transforms.matching.features import LEVELS, MISSING

PROBABILITY_FLOOR = 1e-6


@dataclass
class MatchModel:
    """Prior probability of a match among candidates, and m/u per feature and level."""

    prior: float
    m: dict[str, np.ndarray]
    u: dict[str, np.ndarray]
    iterations: int = 0
    history: list[float] = field(default_factory=list)

    def level_weights(self) -> dict[str, np.ndarray]:
        """log2(m/u) per feature and level: the evidence each level carries."""
        return {f: np.log2(self.m[f] / self.u[f]) for f in self.m}

    def prior_weight(self) -> float:
        return float(np.log2(self.prior / (1 - self.prior)))

    def contributions(self, levels: pd.DataFrame) -> pd.DataFrame:
        """Per pair and feature, the weight its level adds (0 where the value is missing)."""
        weights = self.level_weights()
        out = {}
        for feature in self.m:
            lv = levels[feature].to_numpy()
            out[feature] = np.where(lv == MISSING, 0.0, weights[feature][np.clip(lv, 0, None)])
        return pd.DataFrame(out, index=levels.index)

    def score(self, levels: pd.DataFrame) -> pd.DataFrame:
        """Match weight and probability of every pair."""
        weight = self.prior_weight() + self.contributions(levels).sum(axis=1).to_numpy()
        return pd.DataFrame({"match_weight": weight, "match_probability": 1.0 / (1.0 + np.exp2(-weight))})

    def to_rows(self) -> list[dict]:
        rows = [{"feature": "_prior", "level": 0, "level_name": "prior", "m": self.prior, "u": 1 - self.prior}]
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
        prior = next(r["m"] for r in rows if r["feature"] == "_prior")
        m = {f: np.zeros(len(n)) for f, n in LEVELS.items()}
        u = {f: np.zeros(len(n)) for f, n in LEVELS.items()}
        for r in rows:
            if r["feature"] in LEVELS:
                m[r["feature"]][r["level"]] = r["m"]
                u[r["feature"]][r["level"]] = r["u"]
        return cls(prior=prior, m=m, u=u)


def _initial(levels: int, agree: bool) -> np.ndarray:
    """A starting guess: matches mostly agree fully, non-matches mostly disagree."""
    ramp = np.arange(1, levels + 1, dtype=float)
    shape = ramp**3 if agree else ramp[::-1] ** 3
    return shape / shape.sum()


def fit(
    levels: pd.DataFrame, max_iterations: int = 200, tolerance: float = 1e-7, initial_prior: float = 0.2
) -> MatchModel:
    """Expectation-maximisation of a two-class mixture over the agreement levels of candidate pairs."""
    features = list(LEVELS)
    arrays = {f: levels[f].to_numpy() for f in features}
    m = {f: _initial(len(LEVELS[f]), agree=True) for f in features}
    u = {f: _initial(len(LEVELS[f]), agree=False) for f in features}
    prior = initial_prior
    history: list[float] = []
    for _ in range(max_iterations):
        log_m = np.full(len(levels), np.log(prior))
        log_u = np.full(len(levels), np.log(1 - prior))
        for f in features:
            lv = arrays[f]
            known = lv != MISSING
            log_m[known] += np.log(m[f][lv[known]])
            log_u[known] += np.log(u[f][lv[known]])
        posterior = 1.0 / (1.0 + np.exp(np.clip(log_u - log_m, -700, 700)))
        new_prior = float(np.clip(posterior.mean(), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR))
        for f in features:
            lv = arrays[f]
            known = lv != MISSING
            count = len(LEVELS[f])
            m_counts = np.bincount(lv[known], weights=posterior[known], minlength=count)
            u_counts = np.bincount(lv[known], weights=1 - posterior[known], minlength=count)
            m[f] = np.clip(m_counts / max(m_counts.sum(), PROBABILITY_FLOOR), PROBABILITY_FLOOR, None)
            u[f] = np.clip(u_counts / max(u_counts.sum(), PROBABILITY_FLOOR), PROBABILITY_FLOOR, None)
            m[f] /= m[f].sum()
            u[f] /= u[f].sum()
        history.append(new_prior)
        converged = abs(new_prior - prior) < tolerance
        prior = new_prior
        if converged:
            break
    return MatchModel(prior=prior, m=m, u=u, iterations=len(history), history=history)
