"""BG/NBD and Gamma-Gamma against the published CDNOW results, and the model formulas checked independently."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from transforms.segments.purchase_model import (
    BgNbd,
    FitError,
    expected_average_spend,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
    purchase_summary,
)

CDNOW = Path(__file__).parent / "data" / "cdnow"
CALIBRATION_END = date(1997, 9, 30)
PUBLISHED = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=-9582.4)


@pytest.fixture(scope="module")
def cdnow_purchases() -> pd.DataFrame:
    """CDNOW_sample.txt as hub purchase events: one sale per line, keyed by the sample customer id."""
    raw = pd.read_csv(
        CDNOW / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"customer_id": str, "date": str},
    )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype(int).astype(str),
            "system": "cdnow",
            "at": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount_eur": raw["amount"],
            "kind": "sale",
        }
    )


@pytest.fixture(scope="module")
def cdnow_summary(cdnow_purchases: pd.DataFrame) -> pd.DataFrame:
    return purchase_summary(cdnow_purchases, CALIBRATION_END, time_unit_days=7.0)


@pytest.fixture(scope="module")
def cdnow_model(cdnow_summary: pd.DataFrame) -> BgNbd:
    return fit_bgnbd(cdnow_summary)


def test_summary_from_transactions_agrees_with_the_published_summary(cdnow_summary):
    published = pd.read_csv(CDNOW / "cdnow_customers_summary.csv", dtype={"ID": str}).set_index("ID")
    ours = cdnow_summary.reindex(published.index)
    assert len(cdnow_summary) == 2357
    assert (ours["frequency"] == published["frequency"]).all()
    assert (ours["recency"] - published["recency"]).abs().max() < 0.005
    assert (ours["T"] - published["T"]).abs().max() < 0.005


def test_bgnbd_reproduces_the_published_fit(cdnow_model):
    for name in ("r", "alpha", "a", "b"):
        assert getattr(cdnow_model, name) == pytest.approx(getattr(PUBLISHED, name), rel=0.01), name
    assert cdnow_model.log_likelihood == pytest.approx(PUBLISHED.log_likelihood, abs=0.1)


def test_gamma_gamma_reproduces_the_published_fit(cdnow_summary):
    repeaters = cdnow_summary[cdnow_summary["frequency"] > 0]
    assert len(repeaters) == 946
    model = fit_gamma_gamma(cdnow_summary)
    assert model.p == pytest.approx(6.25, rel=0.01)
    assert model.q == pytest.approx(3.74, rel=0.01)
    assert model.gamma == pytest.approx(15.44, rel=0.01)
    spend = expected_average_spend(model, cdnow_summary)
    # Without repeat purchases the expectation is the population mean p * gamma / (q - 1).
    one_timer = cdnow_summary.index[cdnow_summary["frequency"] == 0][0]
    assert spend[one_timer] == pytest.approx(model.p * model.gamma / (model.q - 1))
    # With many repeats it leans towards the customer's own mean.
    heavy = repeaters["frequency"].idxmax()
    population = model.p * model.gamma / (model.q - 1)
    own = repeaters.loc[heavy, "monetary_value"]
    assert abs(spend[heavy] - own) < abs(population - own)


def test_expected_purchases_equals_the_papers_formula(cdnow_model):
    """The Euler-transformed formula in the code against FHL 2005 equation 10 written out directly."""
    r, alpha, a, b = cdnow_model.r, cdnow_model.alpha, cdnow_model.a, cdnow_model.b
    cases = pd.DataFrame({"frequency": [0, 1, 2, 5, 10], "recency": [0.0, 1.0, 30.43, 20.0, 37.0]})
    cases["T"] = [38.86, 2.0, 38.86, 38.0, 38.5]
    t = 39.0
    x, tx, age = cases["frequency"].to_numpy(float), cases["recency"].to_numpy(), cases["T"].to_numpy()
    z = t / (alpha + age + t)
    top = (a + b + x - 1) / (a - 1) * (1 - (1 - z) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
    bottom = 1 + (x > 0) * a / np.maximum(b + x - 1, 1e-12) * ((alpha + age) / (alpha + tx)) ** (r + x)
    assert expected_purchases(cdnow_model, cases, t).to_numpy() == pytest.approx(top / bottom, rel=1e-9)


def test_expected_purchases_start_at_the_rate_of_a_live_customer(cdnow_model):
    """Over a very short horizon: P(alive) x the posterior mean rate (r + x) / (alpha + T)."""
    cases = pd.DataFrame({"frequency": [0, 3, 8], "recency": [0.0, 10.0, 35.0], "T": [20.0, 30.0, 38.0]})
    t = 1e-4
    rate = (cdnow_model.r + cases["frequency"]) / (cdnow_model.alpha + cases["T"])
    expected = p_alive(cdnow_model, cases) * rate * t
    assert expected_purchases(cdnow_model, cases, t).to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-3)


def test_p_alive_by_hand():
    model = BgNbd(r=0.25, alpha=4.0, a=0.8, b=2.5, log_likelihood=0.0)
    cases = pd.DataFrame({"frequency": [0, 2, 2], "recency": [0.0, 30.0, 10.0], "T": [39.0, 39.0, 39.0]})
    # x = 2, t_x = 30: odds of having dropped out = a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)
    odds_30 = 0.8 / 3.5 * (43.0 / 34.0) ** 2.25
    odds_10 = 0.8 / 3.5 * (43.0 / 14.0) ** 2.25
    assert p_alive(model, cases).tolist() == pytest.approx([1.0, 1 / (1 + odds_30), 1 / (1 + odds_10)])
    # A frequent buyer silent for a very long time underflows to 0 rather than failing.
    silent = pd.DataFrame({"frequency": [400], "recency": [1.0], "T": [1000.0]})
    assert p_alive(model, silent).iloc[0] == pytest.approx(0.0, abs=1e-12)


def test_summary_sums_a_days_purchases_and_leaves_out_the_first_day():
    purchases = pd.DataFrame(
        {
            "customer_id": ["A"] * 5 + ["B"],
            "system": "webshop",
            "at": pd.to_datetime(
                [
                    "2024-01-01 09:00",  # first day: starts the clock, its spend is left out
                    "2024-01-08 10:00",  # one repeat day, two orders: 30 + 10
                    "2024-01-08 18:00",
                    "2024-01-15 12:00",  # a return: not a purchase
                    "2024-03-01 12:00",  # after as_of
                    "2024-01-29 00:00",
                ],
                utc=True,
            ),
            "amount_eur": [100.0, 30.0, 10.0, 30.0, 99.0, 5.0],
            "kind": ["sale", "sale", "sale", "return", "sale", "sale"],
        }
    )
    summary = purchase_summary(purchases, date(2024, 1, 29), time_unit_days=7.0)
    assert summary.loc["A"].to_dict() == {"frequency": 1, "recency": 1.0, "T": 4.0, "monetary_value": 40.0}
    assert summary.loc["B"].to_dict() == {"frequency": 0, "recency": 0.0, "T": 0.0, "monetary_value": 0.0}


def test_fits_refuse_too_few_repeat_customers(cdnow_summary):
    few = cdnow_summary[cdnow_summary["frequency"] > 0].head(5)
    with pytest.raises(FitError, match="5 customers"):
        fit_bgnbd(few, min_repeat_customers=20)
    with pytest.raises(FitError, match="5 customers"):
        fit_gamma_gamma(few, min_repeat_customers=20)
