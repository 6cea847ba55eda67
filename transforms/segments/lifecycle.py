"""Lifecycle stages: where each customer stands in their relationship with the retailer.

Customers who never bought (as of the day) are

- ``prospect``: identified (an account, a loyalty membership or an ERP customer record) and
  consenting to some marketing: someone who can be invited to a first purchase;
- ``suspect``: everyone else known only as a contact (a newsletter address, a guest, an account
  without consent).

Customers who bought take the first stage whose rule holds, in this order:

1. ``churned``: no purchase for more than ``churned_after_days`` days;
2. ``lapsing``: no purchase for more than ``lapsing_after_days`` days, or overdue against their own
   rhythm (see ``overdue``);
3. ``new``: first purchase at most ``new_within_days`` days ago;
4. ``regular``: at least ``regular_min_orders_12m`` orders in the last twelve months;
5. ``active``: the others.

Lapsing comes before new so that a new customer who bought in quick succession and then stopped is
flagged while there is still time to win them back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.segments.config import LifecycleConfig

CONTACT_COLUMNS = ("customer_id", "has_account", "consents")


def overdue(customers: pd.DataFrame, factor: float, min_purchase_days: int) -> pd.Series:
    """Whether each customer's silence exceeds ``factor`` times their own mean gap between purchase days.

    The mean gap is (last - first purchase day) / (purchase days - 1). It is trusted only with at
    least ``min_purchase_days`` purchase days: one gap says little about a rhythm. Needs
    ``days_since_first_purchase``, ``days_since_last_purchase`` and ``purchase_days``.
    """
    days = customers["purchase_days"].to_numpy(dtype=float)
    since_last = customers["days_since_last_purchase"].to_numpy(dtype=float)
    span = customers["days_since_first_purchase"].to_numpy(dtype=float) - since_last
    known = days >= min_purchase_days
    gap = np.divide(span, days - 1, out=np.full(len(days), np.inf), where=known)
    return pd.Series(known & (since_last > factor * gap), index=customers.index)


def lifecycle_stages(customers: pd.DataFrame, config: LifecycleConfig) -> pd.Series:
    """The lifecycle stage of each customer.

    ``customers`` has ``days_since_first_purchase`` and ``days_since_last_purchase`` (whole days,
    null for those who never bought), ``purchase_days``, ``orders_12m``, and the booleans
    ``has_account`` and ``consents`` (missing means false).
    """
    since_last = customers["days_since_last_purchase"]
    bought = since_last.notna().to_numpy()
    known = _flag(customers["has_account"]) & _flag(customers["consents"])
    conditions = [
        ~bought & known,
        ~bought,
        (since_last > config.churned_after_days).to_numpy(),
        (since_last > config.lapsing_after_days).to_numpy()
        | overdue(customers, config.rhythm_factor, config.rhythm_min_purchase_days).to_numpy(),
        (customers["days_since_first_purchase"] <= config.new_within_days).to_numpy(),
        (customers["orders_12m"] >= config.regular_min_orders_12m).to_numpy(),
    ]
    stages = np.select(conditions, ["prospect", "suspect", "churned", "lapsing", "new", "regular"], "active")
    return pd.Series(stages.astype(object), index=customers.index, name="lifecycle_stage")


def _flag(values: pd.Series) -> np.ndarray:
    return values.astype("boolean").fillna(False).to_numpy(dtype=bool)
