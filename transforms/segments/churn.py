"""Churn risk: the purchase model's chance that a customer has left, plus the signals retailers watch.

The signals, named in ``churn_signals`` in this order when they fire:

- ``rhythm_broken``: silent for more than ``rhythm_factor`` times their own mean gap between
  purchase days (with at least ``rhythm_min_purchase_days`` purchase days, see ``lifecycle.overdue``);
- ``unsubscribed``: unsubscribed from email at or before the as-of moment;
- ``bouncing``: at least ``min_bounces`` bounced emails;
- ``long_silence``: no purchase and no email open or click for more than ``silence_days`` days.
  Engagement the hub does not know of (no email membership) counts as none.

``churn_risk = clip(weight_model * (1 - p_alive) + sum of the weights of the signals that fired, 0, 1)``.
A weighted sum keeps every part explainable ("0.4 of it is the long silence"), and the clip keeps
it a share. Without a purchase model (``p_alive`` null) the model's part is 0 and the signals
decide alone. Customers who never bought cannot churn: their risk is null and no signal fires.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from transforms.segments.config import ChurnConfig
from transforms.segments.history import AsOf, day_numbers, utc_naive
from transforms.segments.lifecycle import overdue

SIGNALS = ("rhythm_broken", "unsubscribed", "bouncing", "long_silence")
ENGAGEMENT_COLUMNS = ("customer_id", "last_engaged_at", "bounces", "unsubscribed", "last_unsubscribed_at")


def engagement_as_of(engagement: pd.DataFrame, as_of: AsOf) -> pd.DataFrame:
    """The email platform's per-customer snapshot as the churn signals read it at ``as_of``.

    ``engagement`` has one row per customer: ``last_engaged_at`` (their last open or click, null if
    never), ``bounces`` (as the platform counts them), ``unsubscribed`` (bool) and
    ``last_unsubscribed_at``. Returns, indexed by ``customer_id``, ``days_since_engaged`` (null if
    never), ``bounces`` and ``unsubscribed``. A snapshot cannot be replayed exactly: an engagement
    after ``as_of`` counts as none and an unsubscription dated after it has not happened yet (one
    without a date counts), but bounces are taken as they are.
    """
    missing = [column for column in ENGAGEMENT_COLUMNS if column not in engagement.columns]
    if missing:
        raise ValueError(f"engagement lacks the columns {missing}")
    if engagement["customer_id"].duplicated().any():
        raise ValueError("engagement: one row per customer_id expected")
    engaged = utc_naive(engagement["last_engaged_at"])
    engaged = engaged.where(engaged <= as_of.cutoff)
    days_since = as_of.day - day_numbers(engaged).astype(float)
    unsubscribed_at = utc_naive(engagement["last_unsubscribed_at"])
    unsubscribed = (
        engagement["unsubscribed"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        & ~(unsubscribed_at > as_of.cutoff).to_numpy()
    )
    return pd.DataFrame(
        {
            "days_since_engaged": np.where(engaged.notna(), days_since, np.nan),
            "bounces": engagement["bounces"].fillna(0).to_numpy(dtype=np.int64),
            "unsubscribed": unsubscribed,
        },
        index=pd.Index(engagement["customer_id"].to_numpy(), name="customer_id"),
    )


def churn_risk(customers: pd.DataFrame, config: ChurnConfig) -> pd.DataFrame:
    """``churn_risk`` (0-1) and ``churn_signals`` (comma-joined, '' if none) per customer.

    ``customers`` has ``p_alive`` (null without a model), ``days_since_first_purchase`` and
    ``days_since_last_purchase`` (null for those who never bought), ``purchase_days``, and from
    ``engagement_as_of`` ``days_since_engaged``, ``bounces`` and ``unsubscribed`` (nulls for
    customers the email platform does not know).
    """
    since_last = customers["days_since_last_purchase"].to_numpy(dtype=float)
    bought = ~np.isnan(since_last)
    since_engaged = customers["days_since_engaged"].to_numpy(dtype=float)
    fired = (
        np.column_stack(
            [
                overdue(customers, config.rhythm_factor, config.rhythm_min_purchase_days).to_numpy(),
                customers["unsubscribed"].astype("boolean").fillna(False).to_numpy(dtype=bool),
                customers["bounces"].fillna(0).to_numpy(dtype=float) >= config.min_bounces,
                (since_last > config.silence_days) & ~(since_engaged <= config.silence_days),
            ]
        )
        & bought[:, None]
    )
    weights = np.array([getattr(config, f"weight_{name}") for name in SIGNALS])
    model_part = config.weight_model * np.nan_to_num(1 - customers["p_alive"].to_numpy(dtype=float), nan=0.0)
    risk = np.clip(model_part + fired @ weights, 0.0, 1.0)
    names = np.array(
        [",".join(itertools.compress(SIGNALS, combination)) for combination in itertools.product((0, 1), repeat=4)],
        dtype=object,
    )
    combination = fired.astype(np.int64) @ (1 << np.arange(len(SIGNALS))[::-1])
    return pd.DataFrame(
        {"churn_risk": np.where(bought, risk, np.nan), "churn_signals": names[combination]}, index=customers.index
    )
