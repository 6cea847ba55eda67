"""Customer value: ABC classes by their share of revenue, and quadrants of current against potential value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.segments.config import AbcConfig, QuadrantConfig

# Shares are compared rounded to a billionth, so that 0.80 + 0.15 is 0.95 and a boundary that
# falls exactly on a threshold is decided as written rather than by floating-point noise.
_SHARE_DECIMALS = 9


def abc_classes(revenue_12m: pd.Series, config: AbcConfig) -> pd.Series:
    """'A', 'B' or 'C' per customer from their last twelve months' revenue.

    Customers are taken from the highest revenue down. A customer is A while the revenue of the
    customers strictly above them is less than ``a_share`` of the total (so the customer who crosses
    the line is still A: they bring part of the first 80%), B while it is less than
    ``a_share + b_share``, and C after that. Customers with equal revenue are one block classed by
    the revenue above the block, so a tie never splits across classes. Customers with zero or
    negative twelve-month revenue (returns exceeding sales) are C and do not count in the total.
    """
    values = revenue_12m.to_numpy(dtype=float)
    positive = values > 0
    classes = np.full(len(values), "C", dtype=object)
    if positive.any():
        distinct, block = np.unique(values[positive], return_inverse=True)
        block_totals = np.bincount(block, weights=values[positive])
        total = block_totals.sum()
        above = (total - np.cumsum(block_totals))[block]
        share = np.round(above / total, _SHARE_DECIMALS)
        a_line = round(config.a_share, _SHARE_DECIMALS)
        b_line = round(config.a_share + config.b_share, _SHARE_DECIMALS)
        classes[positive] = np.where(share < a_line, "A", np.where(share < b_line, "B", "C"))
    return pd.Series(classes, index=revenue_12m.index, name="abc_class")


def value_quadrants(current: pd.Series, potential: pd.Series, bought: pd.Series, config: QuadrantConfig) -> pd.Series:
    """'star', 'growth', 'keep' or 'streamline' per customer who bought; null for those who did not.

    Current value (``revenue_12m_eur``) is high when strictly above its ``current_quantile`` among
    customers who bought, potential value (``expected_revenue_12m_eur``) likewise; strictly, so that
    when most customers share the median (zero revenue this year, say) they count as low. High/high
    is star, low current with high potential growth, high current with low potential keep, low/low
    streamline. Customers who never bought have no value to place yet.
    """
    mask = bought.to_numpy(dtype=bool)
    quadrants = np.full(len(mask), None, dtype=object)
    if mask.any():
        now, later = current.to_numpy(dtype=float)[mask], potential.to_numpy(dtype=float)[mask]
        high_now = now > np.quantile(now, config.current_quantile)
        high_later = later > np.quantile(later, config.potential_quantile)
        quadrants[mask] = np.select(
            [high_now & high_later, high_later, high_now], ["star", "growth", "keep"], "streamline"
        ).astype(object)
    return pd.Series(quadrants, index=current.index, name="value_quadrant")
