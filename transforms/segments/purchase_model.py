"""How often a customer will buy, whether they still buy at all, and how much they spend per visit.

Two models of customer-base analysis, both fitted by maximum likelihood on closed-form likelihoods:

- **BG/NBD** (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"): while alive, a
  customer buys at a Poisson rate drawn from Gamma(r, alpha); after each purchase they drop out with
  a probability drawn from Beta(a, b). From a customer's frequency, recency and age it gives the
  probability that they are still alive and their expected purchases in the coming period.
- **Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV"): the spend per purchase varies around a
  customer's own mean, Gamma(p, nu) with nu drawn from Gamma(q, gamma); it shrinks a customer's
  observed mean spend towards the population's, the more the fewer purchases it rests on.

A purchase, for both, is a purchase *day*: orders of one day are one purchase and their amounts add
up, as in the papers' data; the first day only starts the clock (frequency counts the repeat days).

The parameters are fitted on their logarithms (so they stay positive without constraints) with
analytic gradients, and the data are rescaled to a mean of one before fitting (times for BG/NBD,
spend for Gamma-Gamma; alpha and gamma scale with them, the shapes do not): a fit of 400,000
customers then takes a fraction of a second and does not depend on the time unit or currency.
A fit that cannot be trusted raises ``FitError``, so that the caller chooses its fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeResult, minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from transforms.segments.history import AsOf, clean_purchases


class FitError(RuntimeError):
    """The data do not support a fit (too few repeat customers, or the optimiser did not converge)."""


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters (alpha in the summary's time unit) and the log-likelihood they reach."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters (gamma in the spend's currency) and the log-likelihood they reach."""

    p: float
    q: float
    gamma: float
    log_likelihood: float


def purchase_summary(
    purchases: pd.DataFrame, as_of: date | datetime | pd.Timestamp, time_unit_days: float = 7.0
) -> pd.DataFrame:
    """Frequency, recency, T and mean repeat spend per customer who bought, from purchase events.

    ``purchases`` has the hub's purchase columns; only sales at or before ``as_of`` count. Per
    customer (index ``customer_id``): ``frequency`` = distinct purchase days - 1; ``recency`` = last
    minus first purchase day; ``T`` = the as-of day minus the first purchase day, both in units of
    ``time_unit_days`` days (7: weeks, as in the papers); ``monetary_value`` = mean sales per repeat
    purchase day (0 without repeats), the first day left out because it is how the customer was won,
    not how they buy.
    """
    point = AsOf.of(as_of)
    return summarise(clean_purchases(purchases, point), point, time_unit_days)


def summarise(clean: pd.DataFrame, as_of: AsOf, time_unit_days: float) -> pd.DataFrame:
    """``purchase_summary`` of purchases already checked and cut by ``history.clean_purchases``."""
    sales = clean.loc[clean["is_sale"], ["customer_id", "day", "amount_eur"]]
    codes, ids = pd.factorize(sales["customer_id"], sort=True)
    days = sales["day"].to_numpy()
    order = np.lexsort((days, codes))
    codes, days, amounts = codes[order], days[order], sales["amount_eur"].to_numpy()[order]
    starts = np.flatnonzero(_run_starts(codes, days))
    day_code, day_number, day_amount = codes[starts], days[starts], np.add.reduceat(amounts, starts)
    first = _run_starts(day_code)
    first_day, first_amount = day_number[first], day_amount[first]
    n_days = np.bincount(day_code, minlength=len(ids))
    last_day = day_number[np.roll(first, -1)]
    repeat_spend = np.bincount(day_code, weights=day_amount, minlength=len(ids)) - first_amount
    frequency = n_days - 1
    monetary = np.divide(repeat_spend, frequency, out=np.zeros(len(ids)), where=frequency > 0)
    return pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last_day - first_day) / time_unit_days,
            "T": (as_of.day - first_day) / time_unit_days,
            "monetary_value": monetary,
        },
        index=pd.Index(ids, name="customer_id"),
    )


def _run_starts(*keys: np.ndarray) -> np.ndarray:
    """Where each run of equal keys begins, in arrays sorted by those keys."""
    starts = np.ones(len(keys[0]), dtype=bool)
    if len(starts) > 1:
        starts[1:] = np.logical_or.reduce([key[1:] != key[:-1] for key in keys])
    return starts


def fit_bgnbd(summary: pd.DataFrame, min_repeat_customers: int = 20) -> BgNbd:
    """BG/NBD parameters by maximum likelihood on ``frequency``, ``recency`` and ``T``.

    Refuses (``FitError``) with fewer than ``min_repeat_customers`` customers who bought again: the
    dropout parameters a and b are learnt from repeat buyers only, and a handful cannot pin them down.
    """
    x = summary["frequency"].to_numpy(dtype=float)
    if int((x > 0).sum()) < min_repeat_customers:
        raise FitError(f"BG/NBD: {int((x > 0).sum())} customers with repeat purchases, need {min_repeat_customers}")
    scale = float(summary["T"].mean())
    tx, age = summary["recency"].to_numpy(dtype=float) / scale, summary["T"].to_numpy(dtype=float) / scale
    unique_x, inverse = np.unique(x, return_inverse=True)

    def negative(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = _bgnbd_log_likelihood(np.exp(log_params), x, tx, age, unique_x, inverse)
        return -value / len(x), -gradient * np.exp(log_params) / len(x)

    result = minimize(negative, np.zeros(4), jac=True, method="L-BFGS-B", bounds=[(-15.0, 15.0)] * 4)
    r, alpha, a, b = np.exp(result.x)
    alpha *= scale
    raw_tx, raw_age = tx * scale, age * scale
    log_likelihood = _bgnbd_log_likelihood(np.array([r, alpha, a, b]), x, raw_tx, raw_age, unique_x, inverse)[0]
    _check_fit("BG/NBD", result, log_likelihood)
    return BgNbd(float(r), float(alpha), float(a), float(b), float(log_likelihood))


def _bgnbd_log_likelihood(
    params: np.ndarray, x: np.ndarray, tx: np.ndarray, age: np.ndarray, unique_x: np.ndarray, inverse: np.ndarray
) -> tuple[float, np.ndarray]:
    """The BG/NBD log-likelihood and its gradient in (r, alpha, a, b).

    Per customer, log L = log G(r+x) - log G(r) + r log alpha + log(e^A2 + [x>0] e^A3) with
    A2 = log B(a, b+x) - log B(a, b) - (r+x) log(alpha+T) (alive at T) and
    A3 = log B(a+1, b+x-1) - log B(a, b) - (r+x) log(alpha+t_x) (dropped out after the last purchase);
    the sum of the two is taken as a log-sum-exp. Terms that depend only on x are computed once per
    distinct x.
    """
    r, alpha, a, b = params
    repeat = unique_x > 0
    safe_x = np.where(repeat, unique_x, 1.0)
    gamma_term = gammaln(r + unique_x) - gammaln(r)
    alive_x = betaln(a, b + unique_x) - betaln(a, b)
    dropped_x = np.where(repeat, betaln(a + 1, b + safe_x - 1) - betaln(a, b), -np.inf)
    log_alpha_age, log_alpha_tx = np.log(alpha + age), np.log(alpha + tx)
    alive = alive_x[inverse] - (r + x) * log_alpha_age
    dropped = dropped_x[inverse] - (r + x) * log_alpha_tx
    mixture = np.logaddexp(alive, dropped)
    weight = np.exp(dropped - mixture)  # the share of the likelihood from "dropped out after t_x"
    value = float(gamma_term[inverse].sum() + len(x) * r * np.log(alpha) + mixture.sum())

    common = digamma(a + b) - digamma(a + b + unique_x)
    d_alive_a, d_alive_b = common, common + digamma(b + unique_x) - digamma(b)
    d_dropped_a = np.where(repeat, common + digamma(a + 1) - digamma(a), 0.0)
    d_dropped_b = np.where(repeat, common + digamma(b + safe_x - 1) - digamma(b), 0.0)
    stay = 1 - weight
    gradient = np.array(
        [
            (digamma(r + unique_x) - digamma(r))[inverse].sum()
            + len(x) * np.log(alpha)
            - (stay * log_alpha_age + weight * log_alpha_tx).sum(),
            len(x) * r / alpha - ((r + x) * (stay / (alpha + age) + weight / (alpha + tx))).sum(),
            (stay * d_alive_a[inverse] + weight * d_dropped_a[inverse]).sum(),
            (stay * d_alive_b[inverse] + weight * d_dropped_b[inverse]).sum(),
        ]
    )
    return value, gradient


def p_alive(model: BgNbd, summary: pd.DataFrame) -> pd.Series:
    """The probability that each customer has not dropped out by T.

    1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)), computed as a logistic of the log odds
    so that long-silent frequent buyers underflow to 0 instead of overflowing. A customer without a
    repeat purchase is alive with probability 1: in BG/NBD dropout happens only right after a
    purchase, a known limit of the model that the churn signals make up for.
    """
    return pd.Series(_p_alive(model, summary), index=summary.index, name="p_alive")


def _p_alive(model: BgNbd, summary: pd.DataFrame) -> np.ndarray:
    x = summary["frequency"].to_numpy(dtype=float)
    tx, age = summary["recency"].to_numpy(dtype=float), summary["T"].to_numpy(dtype=float)
    repeat = x > 0
    log_odds_dead = np.full(len(x), -np.inf)
    log_odds_dead[repeat] = (
        np.log(model.a)
        - np.log(model.b + x[repeat] - 1)
        + (model.r + x[repeat]) * (np.log(model.alpha + age[repeat]) - np.log(model.alpha + tx[repeat]))
    )
    return expit(-log_odds_dead)


def expected_purchases(model: BgNbd, summary: pd.DataFrame, t: float) -> pd.Series:
    """Expected purchases of each customer in the next ``t`` time units (FHL 2005, equation 10).

    The paper's (alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z) is rewritten with Euler's
    transformation as (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), z = t/(alpha+T+t): equal in value,
    but its hypergeometric series no longer has parameters growing with x, so frequent buyers do not
    overflow it. Where the rewritten form does not evaluate (z near 1: a customer of no age under a
    tiny alpha) the paper's own form is used; a value neither gives is NaN, for the caller's fallback.
    """
    x = summary["frequency"].to_numpy(dtype=float)
    age = summary["T"].to_numpy(dtype=float)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    z = t / (alpha + age + t)
    with np.errstate(all="ignore"):
        remaining = 1 - np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        unstable = ~np.isfinite(remaining)
        remaining[unstable] = 1 - ((alpha + age[unstable]) / (alpha + age[unstable] + t)) ** (r + x[unstable]) * hyp2f1(
            r + x[unstable], b + x[unstable], a + b + x[unstable] - 1, z[unstable]
        )
        remaining[~np.isfinite(remaining)] = np.nan
    values = (a + b + x - 1) / (a - 1) * remaining * _p_alive(model, summary)
    return pd.Series(values, index=summary.index, name="expected_purchases")


def fit_gamma_gamma(summary: pd.DataFrame, min_repeat_customers: int = 20) -> GammaGamma:
    """Gamma-Gamma parameters by maximum likelihood on the repeat buyers' ``monetary_value``.

    Only customers with a repeat purchase and a positive mean spend take part. The model describes
    a population whose mean spend exists only when q > 1; a fit with q <= 1, or on fewer than
    ``min_repeat_customers`` customers, raises ``FitError``.
    """
    usable = (summary["frequency"] > 0) & (summary["monetary_value"] > 0)
    if int(usable.sum()) < min_repeat_customers:
        raise FitError(f"Gamma-Gamma: {int(usable.sum())} customers with repeat spend, need {min_repeat_customers}")
    x = summary.loc[usable, "frequency"].to_numpy(dtype=float)
    spend = summary.loc[usable, "monetary_value"].to_numpy(dtype=float)
    scale = float(spend.mean())

    def negative(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = _gamma_gamma_log_likelihood(np.exp(log_params), x, spend / scale)
        return -value / len(x), -gradient * np.exp(log_params) / len(x)

    result = minimize(negative, np.zeros(3), jac=True, method="L-BFGS-B", bounds=[(-15.0, 15.0)] * 3)
    p, q, gamma = np.exp(result.x)
    gamma *= scale
    log_likelihood = _gamma_gamma_log_likelihood(np.array([p, q, gamma]), x, spend)[0]
    _check_fit("Gamma-Gamma", result, log_likelihood)
    if q <= 1:
        raise FitError(f"Gamma-Gamma: q = {q:.3f} <= 1, the population's mean spend does not exist")
    return GammaGamma(float(p), float(q), float(gamma), float(log_likelihood))


def _gamma_gamma_log_likelihood(params: np.ndarray, x: np.ndarray, spend: np.ndarray) -> tuple[float, np.ndarray]:
    """The log-likelihood of the mean spends and its gradient in (p, q, gamma).

    The mean of x purchases of Gamma(p, nu) is Gamma(px, x nu); integrating nu over Gamma(q, gamma)
    gives log G(px+q) - log G(px) - log G(q) + q log gamma + (px-1) log m + px log x - (px+q) log(gamma+mx).
    """
    p, q, gamma = params
    px = p * x
    log_total = np.log(gamma + spend * x)
    value = (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma) + (px - 1) * np.log(spend) + px * np.log(x)
    ) - (px + q) * log_total
    shared = digamma(px + q)
    gradient = np.array(
        [
            (x * (shared - digamma(px) + np.log(spend) + np.log(x) - log_total)).sum(),
            (shared - digamma(q) + np.log(gamma) - log_total).sum(),
            (q / gamma - (px + q) / (gamma + spend * x)).sum(),
        ]
    )
    return float(value.sum()), gradient


def expected_average_spend(model: GammaGamma, summary: pd.DataFrame) -> pd.Series:
    """Each customer's expected spend per purchase: p (gamma + x m) / (p x + q - 1).

    A weighted mean of the population's mean p gamma / (q - 1) and the customer's own mean m, the
    customer's weight growing with their number of repeat purchases x; without repeats it is the
    population's mean.
    """
    x = summary["frequency"].to_numpy(dtype=float)
    spend = summary["monetary_value"].to_numpy(dtype=float)
    values = model.p * (model.gamma + x * spend) / (model.p * x + model.q - 1)
    return pd.Series(values, index=summary.index, name="expected_average_spend")


def _check_fit(model: str, result: OptimizeResult, log_likelihood: float) -> None:
    """Refuse a fit whose optimiser failed or whose likelihood is not a number."""
    if not result.success or not np.isfinite(log_likelihood):
        raise FitError(f"{model}: the fit did not converge ({result.message})")
