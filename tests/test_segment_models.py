"""The segment models on small populations whose right answers are worked out by hand."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from transforms.segments.churn import churn_risk, engagement_as_of
from transforms.segments.config import (
    AbcConfig,
    ChurnConfig,
    ConfigError,
    LifecycleConfig,
    QuadrantConfig,
    RfmConfig,
    SegmentConfig,
    SegmentRule,
)
from transforms.segments.greetings import birthdays_on, name_days_on
from transforms.segments.history import AsOf
from transforms.segments.lifecycle import lifecycle_stages
from transforms.segments.metrics import METRIC_COLUMNS, customer_metrics
from transforms.segments.rfm import quintile_scores, rfm_scores, rfm_segments
from transforms.segments.value import abc_classes, value_quadrants

AS_OF = date(2024, 6, 30)


def days_before(days: int, hour: int = 12) -> datetime:
    """A moment ``days`` whole days before AS_OF (naive UTC)."""
    return datetime(AS_OF.year, AS_OF.month, AS_OF.day, hour) - timedelta(days=days)


def purchases(*rows: tuple) -> pd.DataFrame:
    """Purchase events from (customer, system, moment, amount[, kind]) tuples."""
    return pd.DataFrame(
        [(c, s, at, amount, rest[0] if rest else "sale") for c, s, at, amount, *rest in rows],
        columns=["customer_id", "system", "at", "amount_eur", "kind"],
    )


# ---------------------------------------------------------------- RFM


def test_quintiles_without_ties_are_exact_fifths():
    scores = quintile_scores(pd.Series([10.0, 20, 30, 40, 50, 60, 70, 80, 90, 100]))
    assert scores.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_tied_values_share_a_score_and_nulls_stay_null():
    # Six customers tie at 1 order: none has anyone strictly below, so all score 1. The 2s have six
    # below: 1 + floor(5 * 6 / 10) = 4; the 3 has eight below: 1 + floor(4.0) = 5; the 4 has nine: 5.
    values = pd.Series([1, 1, 1, 1, 1, 1, 2, 2, 3, 4, None])
    assert quintile_scores(values).tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5, pd.NA]


def test_recent_scores_high_and_frequent_and_big_spenders_score_high():
    customers = pd.DataFrame(
        {
            "days_since_last_purchase": [1.0, 10, 100, 200, 400, np.nan],
            "orders_total": [1, 2, 3, 4, 5, 0],
            "revenue_total_eur": [500.0, 400, 300, 200, 100, 0],
        },
        index=list("abcdef"),
    )
    scores = rfm_scores(customers)
    # Five buyers: worse counts 4..0 give 1 + floor(5k/5) = 5..1; 'f' never bought.
    assert scores["r_score"].tolist() == [5, 4, 3, 2, 1, pd.NA]
    assert scores["f_score"].tolist() == [1, 2, 3, 4, 5, pd.NA]
    assert scores["m_score"].tolist() == [5, 4, 3, 2, 1, pd.NA]


def test_segments_follow_the_documented_order():
    cases = {
        (5, 5, 5): "champions",  # also in loyal's and lost's ranges: champions is listed first
        (3, 4, 1): "loyal",
        (5, 1, 1): "new",  # also in promising's ranges: new comes first
        (4, 2, 3): "potential_loyalists",
        (4, 1, 2): "promising",
        (3, 2, 4): "need_attention",
        (3, 1, 1): "about_to_sleep",
        (1, 5, 5): "cant_lose",  # also in at_risk's ranges: cant_lose comes first
        (2, 3, 1): "at_risk",
        (2, 1, 5): "hibernating",
        (1, 2, 5): "lost",
    }
    scores = pd.DataFrame(list(cases) + [(pd.NA, pd.NA, pd.NA)], columns=["r_score", "f_score", "m_score"])
    scores = scores.astype("Int64")
    assert rfm_segments(scores, RfmConfig()).tolist() == list(cases.values()) + ["prospect"]


def test_segment_rules_are_data_and_their_order_decides():
    rules = (
        SegmentRule("loyal", r=(3, 5), f=(3, 5)),
        SegmentRule("champions", r=(4, 5), f=(4, 5)),
        SegmentRule("rest"),
    )
    scores = pd.DataFrame({"r_score": [5, 1], "f_score": [5, 1], "m_score": [5, 1]}).astype("Int64")
    # champions listed after loyal can never win: loyal's ranges cover it.
    assert rfm_segments(scores, RfmConfig(segments=rules)).tolist() == ["loyal", "rest"]


# ---------------------------------------------------------------- lifecycle


def lifecycle_frame(**columns) -> pd.DataFrame:
    defaults = {
        "days_since_first_purchase": 300.0,
        "days_since_last_purchase": 30.0,
        "purchase_days": 2,
        "orders_12m": 1,
        "has_account": True,
        "consents": True,
    }
    n = max(len(v) for v in columns.values())
    return pd.DataFrame({k: columns.get(k, [v] * n) for k, v in defaults.items()})


def test_lifecycle_boundaries_on_each_side():
    frame = lifecycle_frame(
        days_since_first_purchase=[700.0, 700, 700, 700, 90, 91, 200, 200],
        days_since_last_purchase=[366.0, 365, 181, 180, 90, 91, 10, 10],
        purchase_days=[2, 2, 2, 2, 1, 1, 3, 3],
        orders_12m=[0, 0, 1, 1, 1, 1, 3, 2],
    )
    assert lifecycle_stages(frame, LifecycleConfig()).tolist() == [
        "churned",  # 366 > 365
        "lapsing",  # 365 is not more than 365, but more than 180
        "lapsing",  # 181 > 180
        "active",  # 180 is not more than 180
        "new",  # first purchase 90 days ago: within 90
        "active",  # 91 days ago
        "regular",  # 3 orders in 12 months, mean gap (200-10)/2 = 95 days, silent for 10
        "active",  # 2 orders
    ]


def test_lapsing_against_their_own_rhythm():
    # Three purchase days 25 days apart (first 100, last 50 days ago): mean gap 25, factor 2 -> 50.
    frame = lifecycle_frame(
        days_since_first_purchase=[100.0, 101, 101],
        days_since_last_purchase=[50.0, 51, 51],
        purchase_days=[3, 3, 2],
        orders_12m=[3, 3, 2],
    )
    # 50 days silent is not overdue (regular); 51 is; with two purchase days no rhythm is trusted (active).
    assert lifecycle_stages(frame, LifecycleConfig()).tolist() == ["regular", "lapsing", "active"]


def test_people_who_never_bought_are_prospects_or_suspects():
    frame = lifecycle_frame(
        days_since_first_purchase=[np.nan] * 4,
        days_since_last_purchase=[np.nan] * 4,
        purchase_days=[0] * 4,
        orders_12m=[0] * 4,
        has_account=[True, True, False, None],
        consents=[True, False, True, True],
    )
    assert lifecycle_stages(frame, LifecycleConfig()).tolist() == ["prospect", "suspect", "suspect", "suspect"]


# ---------------------------------------------------------------- ABC


def test_abc_boundaries_ties_and_zero_revenue():
    revenue = pd.Series([40.0, 20, 20, 10, 5, 3, 2, 0, -5], index=list("abcdefghi"))
    # Positive total 100. Revenue strictly above each: a 0, b and c (a tie) 40, d 80, e 90, f 95, g 98.
    # A while above < 80, B while above < 95: d has exactly 80 above (B), f exactly 95 (C).
    assert abc_classes(revenue, AbcConfig()).tolist() == ["A", "A", "A", "B", "B", "C", "C", "C", "C"]


def test_the_customer_crossing_the_line_is_a_and_a_tie_is_never_split():
    crossing = pd.Series([50.0, 40, 10])  # 40 takes the cumulative share from 50% to 90%: still A
    assert abc_classes(crossing, AbcConfig()).tolist() == ["A", "A", "B"]
    straddling = pd.Series([60.0, 15, 15, 10])  # the 15s take the share from 60% to 90%: both A
    assert abc_classes(straddling, AbcConfig()).tolist() == ["A", "A", "A", "B"]
    assert abc_classes(pd.Series([0.0, 0.0]), AbcConfig()).tolist() == ["C", "C"]


def test_abc_thresholds_come_from_the_config():
    revenue = pd.Series([50.0, 30, 20])
    assert abc_classes(revenue, AbcConfig(a_share=0.5, b_share=0.3)).tolist() == ["A", "B", "C"]


# ---------------------------------------------------------------- value quadrant


def test_value_quadrants_split_at_the_median_of_buyers():
    current = pd.Series([10.0, 20, 30, 40, 50, 60, 0])
    potential = pd.Series([60.0, 10, 50, 20, 40, 30, 0])
    bought = pd.Series([True] * 6 + [False])
    # Medians among the six buyers: current 35 (high: 40, 50, 60), potential 35 (high: 60, 50, 40).
    assert value_quadrants(current, potential, bought, QuadrantConfig()).tolist() == [
        "growth",
        "streamline",
        "growth",
        "keep",
        "star",
        "keep",
        None,
    ]


def test_value_at_the_median_is_low():
    current = pd.Series([0.0, 0, 0, 5])
    potential = pd.Series([1.0, 2, 3, 4])
    # Current median 0: only 5 is above it. Potential median 2.5.
    assert value_quadrants(current, potential, pd.Series([True] * 4), QuadrantConfig()).tolist() == [
        "streamline",
        "streamline",
        "growth",
        "star",
    ]


# ---------------------------------------------------------------- churn


def churn_frame(**columns) -> pd.DataFrame:
    """Customers with no signal: alive for sure, bought 10 days ago, gaps of 30 days, engaged lately."""
    defaults = {
        "p_alive": 1.0,
        "days_since_first_purchase": 70.0,
        "days_since_last_purchase": 10.0,
        "purchase_days": 3,
        "days_since_engaged": 5.0,
        "bounces": 0,
        "unsubscribed": False,
    }
    n = max((len(v) for v in columns.values()), default=1)
    return pd.DataFrame({k: columns.get(k, [v] * n) for k, v in defaults.items()})


def test_each_churn_signal_fires_alone():
    config = ChurnConfig()
    frame = churn_frame(
        days_since_first_purchase=[70.0, 70, 70, 70, 130, 300],
        # mean gap 30: 61 days silent is more than 2 x 30 (rhythm_broken); 181 days with only two
        # purchase days trusts no rhythm, and with no engagement for 200 days is a long silence.
        days_since_last_purchase=[10.0, 61, 10, 10, 60, 181],
        purchase_days=[3, 3, 3, 3, 3, 2],
        unsubscribed=[False, False, True, False, False, False],
        bounces=[0, 0, 0, 1, 0, 0],
        days_since_engaged=[5.0, 5, 5, 5, 5, 200],
    )
    result = churn_risk(frame, config)
    assert result["churn_signals"].tolist() == ["", "rhythm_broken", "unsubscribed", "bouncing", "", "long_silence"]
    assert result["churn_risk"].tolist() == pytest.approx([0.0, 0.2, 0.15, 0.1, 0.0, 0.4])


def test_silence_needs_both_purchases_and_email_to_be_quiet():
    frame = churn_frame(
        days_since_first_purchase=[400.0, 400, 400, 400],
        days_since_last_purchase=[181.0, 181, 180, 181],
        purchase_days=[2, 2, 2, 2],
        days_since_engaged=[180.0, 181, np.nan, np.nan],
    )
    # Engaged 180 days ago is not silent for more than 180; never engaged is; 180 days without a purchase is not.
    assert churn_risk(frame, ChurnConfig())["churn_signals"].tolist() == ["", "long_silence", "", "long_silence"]


def test_model_part_adds_to_signals_and_the_sum_is_clipped():
    frame = churn_frame(
        p_alive=[0.4, 0.0, np.nan, 1.0],
        days_since_first_purchase=[70.0, 400, 70, np.nan],
        days_since_last_purchase=[10.0, 250, 10, np.nan],
        purchase_days=[3, 3, 3, 0],
        unsubscribed=[False, True, False, True],
        bounces=[0, 3, 0, 0],
        days_since_engaged=[5.0, np.nan, 5, np.nan],
    )
    result = churn_risk(frame, ChurnConfig())
    # 0.5 x (1 - 0.4) = 0.3; all four signals and p_alive 0: 0.5 + 0.2 + 0.15 + 0.1 + 0.4 = 1.35 -> 1;
    # no model: 0; never bought: null and no signal.
    assert result["churn_risk"].iloc[:3].tolist() == pytest.approx([0.3, 1.0, 0.0])
    assert np.isnan(result["churn_risk"].iloc[3])
    assert result["churn_signals"].tolist() == ["", "rhythm_broken,unsubscribed,bouncing,long_silence", "", ""]


def test_engagement_is_read_as_of_the_day():
    engagement = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "last_engaged_at": [days_before(3), days_before(-3), None],
            "bounces": [0, 2, None],
            "unsubscribed": [True, True, False],
            "last_unsubscribed_at": [None, datetime(2024, 7, 5, tzinfo=UTC), None],
        }
    )
    read = engagement_as_of(engagement, AsOf.of(AS_OF))
    assert read.loc["a", "days_since_engaged"] == 3
    assert np.isnan(read.loc["b", "days_since_engaged"])  # engaged after as_of: not yet
    assert read["unsubscribed"].tolist() == [True, False, False]  # b unsubscribes only in July
    assert read["bounces"].tolist() == [0, 2, 0]


# ---------------------------------------------------------------- the metrics frame


def test_returns_lower_revenue_and_later_purchases_are_ignored():
    events = purchases(
        ("A", "webshop", days_before(400), 100.0),
        ("A", "erp", days_before(100), 80.0),
        ("A", "erp", days_before(90), 30.0, "return"),
        ("A", "loyalty", days_before(-1), 500.0),  # tomorrow
        ("A", "webshop", days_before(-2), 50.0, "return"),
        ("B", "loyalty", days_before(-5), 70.0),  # only after as_of: has not bought yet
    )
    metrics = customer_metrics(events, AS_OF).set_index("customer_id")
    a, b = metrics.loc["A"], metrics.loc["B"]
    assert (a["orders_total"], a["orders_12m"]) == (2, 1)
    assert (a["revenue_total_eur"], a["revenue_12m_eur"], a["returns_eur"]) == (150.0, 50.0, 30.0)
    assert a["channels"] == "erp,webshop"
    assert a["last_purchase_at"] == pd.Timestamp(days_before(100), tz="UTC")
    assert (b["orders_total"], b["revenue_total_eur"], b["channels"]) == (0, 0.0, "")
    assert pd.isna(b["first_purchase_at"]) and pd.isna(b["r_score"])
    assert (b["rfm_segment"], b["lifecycle_stage"], b["abc_class"]) == ("prospect", "suspect", "C")
    assert b["value_quadrant"] is None and np.isnan(b["churn_risk"]) and b["churn_signals"] == ""
    assert list(metrics.reset_index().columns) == list(METRIC_COLUMNS)


def test_a_date_counts_its_whole_day_and_aware_and_naive_times_agree():
    late = datetime(2024, 6, 30, 23, 59)
    events = purchases(
        ("naive", "erp", late, 10.0),
        ("aware", "erp", late.replace(tzinfo=UTC), 10.0),
        # 01:30 on 1 July in Helsinki is 22:30 on 30 June in UTC: inside the day.
        ("helsinki", "erp", pd.Timestamp("2024-07-01 01:30", tz="Europe/Helsinki"), 10.0),
    )
    events["at"] = events["at"].astype(object)
    metrics = customer_metrics(events, AS_OF).set_index("customer_id")
    assert metrics["orders_total"].tolist() == [1, 1, 1]
    at_noon = customer_metrics(events, datetime(2024, 6, 30, 12)).set_index("customer_id")
    assert at_noon["orders_total"].tolist() == [0, 0, 0]


def test_lifecycle_from_purchase_dates_at_the_boundary():
    events = purchases(
        ("churned", "erp", days_before(366, hour=0), 10.0),
        ("lapsing", "erp", days_before(365, hour=23), 10.0),
        ("new", "webshop", days_before(90), 10.0),
        ("active", "webshop", days_before(91), 10.0),
    )
    contacts = pd.DataFrame(
        {"customer_id": ["prospect", "suspect"], "has_account": [True, True], "consents": [True, False]}
    )
    stages = customer_metrics(events, AS_OF, contacts=contacts).set_index("customer_id")["lifecycle_stage"]
    assert stages.to_dict() == {
        "active": "active",
        "churned": "churned",
        "lapsing": "lapsing",
        "new": "new",
        "prospect": "prospect",
        "suspect": "suspect",
    }


def test_too_few_repeat_buyers_fall_back_to_documented_values():
    events = purchases(
        ("A", "erp", days_before(300), 100.0),
        ("A", "erp", days_before(200), 60.0),
        ("A", "erp", days_before(100), 40.0),
        ("A", "erp", days_before(95), 20.0, "return"),
        ("B", "erp", days_before(20), 30.0),
    )
    metrics = customer_metrics(events, AS_OF).set_index("customer_id")
    assert metrics["p_alive"].isna().all()
    # Next year as this one: A bought on 3 days (within 12 months), B on 1. Spend: own mean per
    # purchase day, 200 / 3 and 30, times the share kept, 1 - 20/200 = 0.9 and 1.
    assert metrics["expected_orders_12m"].tolist() == [3.0, 1.0]
    assert metrics["expected_revenue_12m_eur"].tolist() == pytest.approx([3 * 200 / 3 * 0.9, 30.0])
    # Without the model churn rests on the signals: A's gaps are 100 days, silent 100: nothing fires.
    assert metrics["churn_risk"].tolist() == [0.0, 0.0]


def test_the_purchase_model_is_used_when_there_are_enough_repeat_buyers():
    rng = np.random.default_rng(5)
    rows = []
    for i in range(60):
        first = int(rng.integers(100, 700))
        days = sorted({first, *rng.integers(1, first, size=int(rng.integers(0, 6))).tolist()}, reverse=True)
        rows += [(f"C{i:02d}", "webshop", days_before(d), float(rng.integers(10, 90))) for d in days]
    metrics = customer_metrics(purchases(*rows), AS_OF)
    assert metrics["p_alive"].between(0, 1).all()
    one_timers = metrics["orders_total"] == 1
    assert (metrics.loc[one_timers, "p_alive"] == 1.0).all()  # BG/NBD: no dropout before a repeat
    assert (metrics["expected_orders_12m"] > 0).all()
    assert metrics["churn_risk"].between(0, 1).all()


def test_bad_purchases_are_refused():
    good = purchases(("A", "erp", days_before(1), 10.0))
    with pytest.raises(ValueError, match="kind"):
        customer_metrics(good.assign(kind="refund"), AS_OF)
    with pytest.raises(ValueError, match="amount_eur"):
        customer_metrics(good.assign(amount_eur=-10.0), AS_OF)


# ---------------------------------------------------------------- greetings


PROFILES = pd.DataFrame(
    {
        "customer_id": ["leap", "march", "päivi", "paivi", "annamaria", "annaliisa", "nobody"],
        "first_name": ["Leena", "Matti", "PÄIVI", "Paivi", "Anna Maria", "Anna-Liisa", None],
        "birth_date": ["1988-02-29", "1990-03-01", "1975-06-30", None, "2000-06-30", "x", "1960-02-28"],
    }
)


def test_birthdays_including_29_february():
    assert birthdays_on(PROFILES, date(2025, 2, 28))["customer_id"].tolist() == ["leap", "nobody"]
    assert birthdays_on(PROFILES, date(2025, 3, 1))["customer_id"].tolist() == ["march"]
    assert birthdays_on(PROFILES, date(2024, 2, 28))["customer_id"].tolist() == ["nobody"]
    assert birthdays_on(PROFILES, date(2024, 2, 29))["customer_id"].tolist() == ["leap"]
    assert birthdays_on(PROFILES, date(2024, 6, 30))["customer_id"].tolist() == ["päivi", "annamaria"]


def test_name_days_ignore_case_and_diacritics():
    calendar = {"06-30": ["Päivi", "Anna"], "02-29": ["Karkaus"], "03-01": ["Matti"], "07-01": ["Anna-Liisa"]}
    found = name_days_on(PROFILES, calendar, date(2024, 6, 30))
    assert found["customer_id"].tolist() == ["päivi", "paivi", "annamaria"]
    assert found["name_day"].tolist() == ["Päivi", "Päivi", "Anna"]
    assert name_days_on(PROFILES, calendar, date(2024, 7, 1))["customer_id"].tolist() == ["annaliisa"]
    leap_names = {"02-29": ["Leena"]}
    assert name_days_on(PROFILES, leap_names, date(2025, 2, 28))["customer_id"].tolist() == ["leap"]
    assert name_days_on(PROFILES, leap_names, date(2024, 2, 28)).empty
    with pytest.raises(ValueError, match="'6-30'"):
        name_days_on(PROFILES, {"6-30": ["Päivi"]}, date(2024, 6, 30))


# ---------------------------------------------------------------- configuration


def test_config_loads_from_toml_and_names_the_bad_key():
    text = """
    [lifecycle]
    new_within_days = 30
    [[rfm.segments]]
    name = "everyone"
    """
    config = SegmentConfig.from_mapping(tomllib.loads(text))
    assert config.lifecycle.new_within_days == 30 and config.lifecycle.churned_after_days == 365
    assert [rule.name for rule in config.rfm.segments] == ["everyone"]
    bad = {
        "churn.weight_models": {"churn": {"weight_models": 0.5}},
        "lifecycle.churned_after_days": {"lifecycle": {"churned_after_days": 100}},
        "rfm.segments[1].r": {"rfm": {"segments": [{"name": "a"}, {"name": "b", "r": [0, 5]}]}},
        "rfm.segments": {"rfm": {"segments": [{"name": "top", "r": [5, 5]}]}},  # leaves scores unsegmented
        "abc.b_share": {"abc": {"b_share": 0.3}},
        "quadrant.current_quantile": {"quadrant": {"current_quantile": "median"}},
    }
    for key, mapping in bad.items():
        with pytest.raises(ConfigError) as raised:
            SegmentConfig.from_mapping(mapping)
        assert raised.value.key == key
