"""One row per customer with everything the segment models say about them, as of a given moment.

``customer_metrics`` is the layer's entry point: it reads purchase events (and optionally contact and
email-engagement facts), cuts them at ``as_of`` so that any past day can be replayed, and runs every
model. Its columns (``METRIC_COLUMNS``) are read by downstream tools and keep their names.

Money: a sale adds its amount, a return (a positive amount) takes it off; ``revenue_*`` are net,
``returns_eur`` is the gross amount returned. Orders count sale events. Twelve months are the year
before the as-of moment.

The purchase models: BG/NBD gives ``p_alive`` and ``expected_orders_12m`` (expected purchase days in
the coming year), Gamma-Gamma the expected spend per purchase day, and
``expected_revenue_12m_eur`` = expected orders x expected spend x the share of their purchases the
customer keeps (1 - returns / sales), since the models describe spending at the till and returns
take part of it back. When a model cannot be fitted (fewer than ``min_repeat_customers`` repeat
buyers, or no convergence) the metrics fall back instead of failing, and log a warning:

- without BG/NBD: ``p_alive`` is null (churn risk then rests on the signals alone) and
  ``expected_orders_12m`` is the customer's purchase days in the last twelve months (next year as
  this one);
- without Gamma-Gamma: the expected spend is the customer's own mean sales per purchase day.

Customers who never bought (known from contacts, engagement, or only from purchases after
``as_of``) have zero orders and revenue, null dates, scores, ``p_alive``, churn risk and value
quadrant, zero expected orders and revenue, rfm segment 'prospect', ABC class C, and the lifecycle
stage suspect or prospect.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

import numpy as np
import pandas as pd

from transforms.segments.churn import churn_risk, engagement_as_of
from transforms.segments.config import PurchaseModelConfig, SegmentConfig
from transforms.segments.history import AsOf, clean_purchases
from transforms.segments.lifecycle import CONTACT_COLUMNS, lifecycle_stages
from transforms.segments.purchase_model import (
    FitError,
    expected_average_spend,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
    summarise,
)
from transforms.segments.rfm import rfm_scores, rfm_segments
from transforms.segments.value import abc_classes, value_quadrants

log = logging.getLogger(__name__)

METRIC_COLUMNS = (
    "customer_id",
    "first_purchase_at",
    "last_purchase_at",
    "orders_total",
    "orders_12m",
    "revenue_total_eur",
    "revenue_12m_eur",
    "returns_eur",
    "channels",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "lifecycle_stage",
    "abc_class",
    "value_quadrant",
    "churn_risk",
    "churn_signals",
    "p_alive",
    "expected_orders_12m",
    "expected_revenue_12m_eur",
)


def customer_metrics(
    purchases: pd.DataFrame,
    as_of: date | datetime | pd.Timestamp,
    *,
    contacts: pd.DataFrame | None = None,
    engagement: pd.DataFrame | None = None,
    config: SegmentConfig | None = None,
) -> pd.DataFrame:
    """The metrics of every customer in ``purchases``, ``contacts`` or ``engagement``, sorted by id.

    ``purchases``: ``customer_id``, ``system``, ``at`` (UTC, aware or naive), ``amount_eur`` (not
    negative) and ``kind`` ('sale' or 'return'). ``as_of``: a date (its whole day counts) or a
    moment. ``contacts``: ``customer_id``, ``has_account`` and ``consents`` (see ``lifecycle``);
    without it nobody who never bought is a prospect. ``engagement``: see
    ``churn.engagement_as_of``; without it the email signals cannot fire.
    """
    config = config or SegmentConfig()
    point = AsOf.of(as_of)
    clean = clean_purchases(purchases, point)
    parts = [purchases["customer_id"]] + [frame["customer_id"] for frame in (contacts, engagement) if frame is not None]
    ids = pd.Index(pd.unique(pd.concat(parts, ignore_index=True)), name="customer_id").sort_values()
    summary = summarise(clean, point, 1.0)
    customers = _purchase_facts(clean, point, ids, summary)
    customers = customers.join(_contact_facts(contacts, ids))
    if engagement is not None:
        customers = customers.join(engagement_as_of(engagement, point))
    else:
        customers = customers.assign(days_since_engaged=np.nan, bounces=0, unsubscribed=False)
    customers = customers.join(_purchase_model(summary, point, customers, config.purchase_model))
    customers = customers.join(rfm_scores(customers))
    customers["rfm_segment"] = rfm_segments(customers, config.rfm)
    customers["lifecycle_stage"] = lifecycle_stages(customers, config.lifecycle)
    customers["abc_class"] = abc_classes(customers["revenue_12m_eur"], config.abc)
    bought = customers["days_since_last_purchase"].notna()
    customers["value_quadrant"] = value_quadrants(
        customers["revenue_12m_eur"], customers["expected_revenue_12m_eur"], bought, config.quadrant
    )
    customers = customers.join(churn_risk(customers, config.churn))
    return customers.reset_index()[list(METRIC_COLUMNS)]


def _purchase_facts(clean: pd.DataFrame, as_of: AsOf, ids: pd.Index, summary: pd.DataFrame) -> pd.DataFrame:
    """Counts, money, dates and channels per customer, and the day counts the models read.

    ``summary`` is the purchase summary of ``clean`` in days.
    """
    n = len(ids)
    codes = ids.get_indexer(clean["customer_id"])
    sale = clean["is_sale"].to_numpy()
    recent = (clean["at"] > as_of.window_start).to_numpy()
    amount = clean["amount_eur"].to_numpy()

    def total(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes[mask], weights=amount[mask], minlength=n).astype(float)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes[mask], minlength=n).astype(np.int64)

    sales, returns = total(sale), total(~sale)
    dates = clean.loc[sale, "at"].groupby(codes[sale]).agg(["min", "max"]).reindex(range(n))
    summary = summary.reindex(ids)
    return pd.DataFrame(
        {
            "first_purchase_at": pd.to_datetime(dates["min"], utc=True).set_axis(ids),
            "last_purchase_at": pd.to_datetime(dates["max"], utc=True).set_axis(ids),
            "orders_total": count(sale),
            "orders_12m": count(sale & recent),
            "revenue_total_eur": sales - returns,
            "revenue_12m_eur": total(sale & recent) - total(~sale & recent),
            "returns_eur": returns,
            "sales_eur": sales,
            "channels": _channels(clean.loc[sale, "system"], codes[sale], n),
            "days_since_first_purchase": summary["T"].to_numpy(),
            "days_since_last_purchase": (summary["T"] - summary["recency"]).to_numpy(),
            "purchase_days": (summary["frequency"] + 1).fillna(0).to_numpy(dtype=np.int64),
            "purchase_days_12m": _purchase_days(clean.loc[sale & recent, "day"], codes[sale & recent], n),
        },
        index=ids,
    )


def _channels(systems: pd.Series, codes: np.ndarray, n: int) -> np.ndarray:
    """The systems each customer bought in, sorted and comma-joined ('' for none)."""
    channels = np.full(n, "", dtype=object)
    system_codes, names = pd.factorize(systems, sort=True)
    for index, system in enumerate(names):
        has = np.bincount(codes[system_codes == index], minlength=n) > 0
        channels = np.where(has, np.where(channels == "", system, channels + "," + system), channels)
    return channels


def _purchase_days(days: pd.Series, codes: np.ndarray, n: int) -> np.ndarray:
    """Distinct purchase days per customer."""
    pairs = pd.DataFrame({"code": codes, "day": days.to_numpy()}).drop_duplicates()
    return np.bincount(pairs["code"].to_numpy(), minlength=n)


def _contact_facts(contacts: pd.DataFrame | None, ids: pd.Index) -> pd.DataFrame:
    if contacts is None:
        return pd.DataFrame({"has_account": False, "consents": False}, index=ids)
    missing = [column for column in CONTACT_COLUMNS if column not in contacts.columns]
    if missing:
        raise ValueError(f"contacts lack the columns {missing}")
    if contacts["customer_id"].duplicated().any():
        raise ValueError("contacts: one row per customer_id expected")
    return contacts.set_index("customer_id")[["has_account", "consents"]].reindex(ids)


def _purchase_model(
    days: pd.DataFrame, as_of: AsOf, customers: pd.DataFrame, config: PurchaseModelConfig
) -> pd.DataFrame:
    """``p_alive``, ``expected_orders_12m`` and ``expected_revenue_12m_eur``, with the fallbacks above.

    ``days`` is the purchase summary in days; the models read it in ``config.time_unit_days``.
    """
    summary = days.assign(recency=days["recency"] / config.time_unit_days, T=days["T"] / config.time_unit_days)
    buyers = customers.loc[summary.index]
    try:
        purchase_model = fit_bgnbd(summary, config.min_repeat_customers)
        alive = p_alive(purchase_model, summary)
        orders = expected_purchases(purchase_model, summary, as_of.year_days / config.time_unit_days)
    except FitError as error:
        log.warning("segments: %s; p_alive is null and next year's orders are this year's", error)
        alive = pd.Series(np.nan, index=summary.index)
        orders = buyers["purchase_days_12m"].astype(float)
    unstable = ~np.isfinite(orders.to_numpy(dtype=float))
    if unstable.any():
        log.warning(
            "segments: the purchase model gave no value for %d customers; their orders are this year's", unstable.sum()
        )
        orders = orders.where(~unstable, buyers["purchase_days_12m"].astype(float))
    try:
        spend = expected_average_spend(fit_gamma_gamma(summary, config.min_repeat_customers), summary)
    except FitError as error:
        log.warning("segments: %s; expected spend is each customer's own mean per purchase day", error)
        spend = buyers["sales_eur"] / buyers["purchase_days"]
    sales = buyers["sales_eur"].to_numpy()
    kept = np.clip(
        1 - np.divide(buyers["returns_eur"].to_numpy(), sales, out=np.ones(len(sales)), where=sales > 0), 0, 1
    )
    modelled = pd.DataFrame(
        {"p_alive": alive, "expected_orders_12m": orders, "expected_revenue_12m_eur": orders * spend * kept}
    )
    return modelled.reindex(customers.index).fillna({"expected_orders_12m": 0.0, "expected_revenue_12m_eur": 0.0})
