"""RFM: recency, frequency and monetary scores from 1 to 5, and the named segments CRM tools use.

Scores are quintiles among the customers who bought. A customer's score is one plus the number of
whole fifths of those customers who are strictly worse than them: ``1 + floor(5 * worse / n)``.
Customers with equal values therefore always get equal scores, and ties need no tie-break:
``rank(method='first')`` would split the many customers with one order between scores 1, 2 and 3 by
an arbitrary key, so that two customers with the same history get different segments and nobody can
say why. The price is that the fifths fill unevenly when many tie (with most customers buying once,
everyone with one order scores f = 1). Without ties the scores are exact quintiles.

Segments are rules over score ranges kept as data (``RfmConfig.segments``) and evaluated in their
listed order: the first rule that matches a customer's (r, f, m) names their segment. The default
order is champions, loyal, new, potential_loyalists, promising, need_attention, about_to_sleep,
cant_lose, at_risk, hibernating, lost (see ``config.DEFAULT_SEGMENTS`` for the ranges). Customers who
never bought have no scores (null) and the segment ``RfmConfig.no_purchase_segment`` ('prospect').
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from transforms.segments.config import SCORES, RfmConfig

SCORE_COLUMNS = ("r_score", "f_score", "m_score")


def quintile_scores(values: pd.Series) -> pd.Series:
    """Scores 1-5 of the non-null ``values`` (higher value, higher score); nulls stay null.

    ``rank(method='min') - 1`` counts the values strictly below each one.
    """
    present = values.dropna()
    worse = present.rank(method="min").to_numpy(dtype=np.int64) - 1
    scores = pd.Series(pd.NA, index=values.index, dtype="Int64")
    scores.loc[present.index] = 1 + (5 * worse) // max(len(present), 1)
    return scores


def rfm_scores(customers: pd.DataFrame) -> pd.DataFrame:
    """``r_score``, ``f_score`` and ``m_score`` per customer.

    ``customers`` has ``days_since_last_purchase`` (null for those who never bought), ``orders_total``
    and ``revenue_total_eur``. Recency scores fewer days higher; frequency and monetary score more
    orders and more revenue (net of returns, all history) higher. Only customers who bought are ranked.
    """
    bought = customers["days_since_last_purchase"].notna()
    return pd.DataFrame(
        {
            "r_score": quintile_scores(-customers["days_since_last_purchase"]),
            "f_score": quintile_scores(customers["orders_total"].where(bought)),
            "m_score": quintile_scores(customers["revenue_total_eur"].where(bought)),
        },
        index=customers.index,
    )


def rfm_segments(scores: pd.DataFrame, config: RfmConfig) -> pd.Series:
    """The segment of each customer: the first rule in ``config.segments`` that their scores match.

    The rules are turned once into a table of all 125 score combinations, so that naming a segment
    is one array lookup per customer whatever the number of rules.
    """
    table = np.array(
        [
            next(rule.name for rule in config.segments if rule.matches(r, f, m))
            for r, f, m in itertools.product(SCORES, SCORES, SCORES)
        ],
        dtype=object,
    )
    scored = scores[list(SCORE_COLUMNS)].notna().all(axis=1).to_numpy()
    r, f, m = (scores[column].to_numpy(dtype=float, na_value=1.0).astype(np.int64) - 1 for column in SCORE_COLUMNS)
    names = np.where(scored, table[(r * 5 + f) * 5 + m], config.no_purchase_segment)
    return pd.Series(names, index=scores.index, name="rfm_segment", dtype=object)
