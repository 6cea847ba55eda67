"""Purchase events as every model reads them: checked, in UTC, cut at ``as_of``, with day numbers.

Every model counts time in whole UTC calendar days ("days since the last purchase" is the as-of day
minus the purchase's day), so that a threshold of 180 days means the same thing to the lifecycle
stage, the churn signals and the purchase model, and a boundary case can be worked out by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

PURCHASE_COLUMNS = ("customer_id", "system", "at", "amount_eur", "kind")
SALE, RETURN = "sale", "return"


@dataclass(frozen=True)
class AsOf:
    """The moment history is read at: purchases at or before ``cutoff`` count; ``day`` is its UTC day."""

    cutoff: pd.Timestamp
    day: int
    window_start: pd.Timestamp
    year_days: int

    @classmethod
    def of(cls, as_of: date | datetime | pd.Timestamp) -> AsOf:
        """A plain date means the whole of that day; a datetime the instant (naive means UTC).

        The twelve-month window is the year before the cutoff (``window_start`` < at <= ``cutoff``);
        ``year_days`` is its length in days (365 or 366), the horizon of the twelve-month forecasts.
        """
        if isinstance(as_of, date) and not isinstance(as_of, datetime):
            midnight = pd.Timestamp(as_of)
            cutoff = midnight + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
        else:
            cutoff = pd.Timestamp(as_of)
            if cutoff.tzinfo is not None:
                cutoff = cutoff.tz_convert("UTC").tz_localize(None)
            midnight = cutoff.floor("D")
        window_start = cutoff - pd.DateOffset(years=1)
        year_days = (midnight - (midnight - pd.DateOffset(years=1))).days
        return cls(cutoff.as_unit("ns"), _day_number(midnight), window_start.as_unit("ns"), year_days)


def _day_number(moment: pd.Timestamp) -> int:
    return int(np.datetime64(moment.as_unit("ns").to_datetime64(), "D").astype(np.int64))


def utc_naive(values: pd.Series) -> pd.Series:
    """Timestamps in UTC without a zone: aware ones are converted, naive ones are taken as UTC."""
    return pd.to_datetime(values, utc=True).dt.tz_convert(None).astype("datetime64[ns]")


def day_numbers(moments: pd.Series) -> np.ndarray:
    """Whole UTC days since 1970-01-01 of naive-UTC timestamps (NaT gives the minimum int64)."""
    return moments.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def clean_purchases(purchases: pd.DataFrame, as_of: AsOf) -> pd.DataFrame:
    """The purchases at or before ``as_of``, with ``at`` in naive UTC and a ``day`` number column.

    Bad input is refused rather than guessed at: a purchase without a customer or a time, a kind
    other than 'sale' or 'return', or a negative or missing amount (a return carries the positive
    amount returned) raises ``ValueError``, since a sign convention misread upstream would silently
    turn returns into revenue, and an undated purchase cannot be placed before or after ``as_of``.
    """
    missing = [column for column in PURCHASE_COLUMNS if column not in purchases.columns]
    if missing:
        raise ValueError(f"purchases lack the columns {missing}")
    if purchases["customer_id"].isna().any():
        raise ValueError("purchases: every purchase needs its customer_id")
    kinds = purchases["kind"]
    unknown = sorted(set(kinds.dropna().unique()) - {SALE, RETURN}) + (["<null>"] if kinds.isna().any() else [])
    if unknown:
        raise ValueError(f"purchases: kind must be 'sale' or 'return', found {unknown[:5]}")
    amounts = purchases["amount_eur"].astype(float)
    if (amounts.isna() | (amounts < 0)).any():
        raise ValueError("purchases: amount_eur must be present and not negative (a return carries a positive amount)")
    at = utc_naive(purchases["at"])
    if at.isna().any():
        raise ValueError("purchases: every purchase needs its time `at`")
    keep = (at <= as_of.cutoff).to_numpy()
    clean = pd.DataFrame(
        {
            "customer_id": purchases["customer_id"].to_numpy()[keep],
            "system": purchases["system"].to_numpy()[keep],
            "at": at.to_numpy()[keep],
            "amount_eur": amounts.to_numpy()[keep],
            "is_sale": (kinds == SALE).to_numpy()[keep],
        }
    )
    clean["day"] = day_numbers(clean["at"])
    return clean
