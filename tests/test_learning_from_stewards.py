"""Stewards' decisions as labels: the model moves the way they point, the review queue asks first what
teaches most, and on a simulated hub decisions change the clusters and keep changing them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import run_assets

from hub import golden_store as store
from hub import storage
from hub.review import decide, labels_changed, one_per_customer_pair, queue_size, read_labels, review_queue
from transforms.matching.engine import score_pairs
from transforms.matching.features import LEVELS
from transforms.matching.labels import Labels, pattern_corrections, patterns, teaching_order
from transforms.matching.model import MatchModel, fit
from transforms.matching.settings import MatchSettings

COLUMNS = ("first_name", "last_name", "email", "phone", "birth_date", "street", "postal_code")


def _records(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS), dtype=object)
    frame["birth_date"] = pd.to_datetime(frame["birth_date"]).astype("datetime64[ns]")
    frame["birth_month_day"] = (
        frame["birth_date"].dt.strftime("%m-%d").astype(object).where(frame["birth_date"].notna())
    )
    frame["email_local"] = frame["email"].str.split("@").str[0]
    frame["street_name"] = frame["street"].str.split(" ").str[0]
    return frame.astype({c: object for c in frame.columns if c != "birth_date"})


@pytest.mark.unit
def test_accepted_labels_raise_their_pattern_rejected_lower_it_and_one_slip_does_not_overturn_a_sure_one():
    corrections = pattern_corrections(
        np.array([1, 1, 1, 2, 2, 2, 3]),
        np.array([2.0, 2.5, 1.0, 2.0, 2.5, 1.0, 25.0]),
        np.array([True, True, True, False, False, False, False]),
    )
    assert corrections[1] > 1.0, "three matches where the model said 'probably' make the pattern surer"
    assert corrections[2] < -3.0, "three non-matches push the pattern below the review threshold"
    assert abs(corrections[3]) < 1.0, "one rejection (an unmerge) of a pattern the model is sure of is a slip"
    more = pattern_corrections(np.array([1] * 9), np.array([2.0] * 9), np.array([True] * 9))
    assert more[1] > corrections[1], "more consistent labels move the pattern further"


@pytest.mark.unit
def test_semi_supervised_em_moves_m_towards_the_labels_and_counts_them():
    rng = np.random.default_rng(7)
    candidates = pd.DataFrame({f: rng.integers(0, len(n), 4000) for f, n in LEVELS.items()}, dtype=np.int8)
    strangers = pd.DataFrame({f: rng.integers(0, len(n), 4000) for f, n in LEVELS.items()}, dtype=np.int8)
    strangers["first_name"] = 0
    no_phone = (candidates["phone"] == 0).to_numpy() & (candidates["first_name"] == 3).to_numpy()
    as_matches, as_strangers = np.full(len(candidates), np.nan), np.full(len(candidates), np.nan)
    as_matches[no_phone], as_strangers[no_phone] = 1.0, 0.0
    unlabelled = fit(candidates, strangers, 10_000)
    matches = fit(candidates, strangers, 10_000, fixed=as_matches)
    others = fit(candidates, strangers, 10_000, fixed=as_strangers)
    assert matches.m["phone"][0] > unlabelled.m["phone"][0] > others.m["phone"][0]
    assert matches.labels == (int(no_phone.sum()), 0) and others.labels == (0, int(no_phone.sum()))
    assert unlabelled.labels == (0, 0)
    assert MatchModel.from_rows(matches.to_rows()).labels == matches.labels, "stored with the model"


@pytest.mark.unit
def test_a_labelled_pattern_moves_its_unlabelled_pairs_and_a_decided_pair_takes_its_decision():
    frame = _records(
        ("anna", "virtanen", "anna.v@gmail.com", None, None, "kotikatu 1", "00100"),
        ("anna", "virtanen", "anna.v@gmail.com", None, None, "mäkitie 5", "33100"),
        ("anna", "virtanen", "a.virtanen@gmail.com", None, None, "kotikatu 1", "00100"),
        ("anna", "virtanen", "a.virtanen@gmail.com", None, None, "sahatie 9", "40100"),
        ("mikko", "laine", "mikko@laine.fi", "+358401234567", "1980-02-03", "koulukatu 2", "00200"),
        ("pekka", "salo", "pekka@salo.fi", "+358407654321", "1975-06-07", "asematie 3", "90100"),
    )
    pairs = np.array([[0, 1], [2, 3], [4, 5]], dtype=np.int64)
    settings = MatchSettings(blocking=())
    plain, model = score_pairs(frame, pairs, None, settings)
    assert (patterns(plain[list(LEVELS)])[:2] == patterns(plain[list(LEVELS)])[0]).all(), "one pattern"
    rejected = Labels(np.array([[0, 1]]), np.array([False]))
    learned, _ = score_pairs(frame, pairs, model, settings, rejected)
    assert learned.loc[1, "match_probability"] < plain.loc[1, "match_probability"], "its pattern was rejected"
    assert learned.loc[2, "match_probability"] == pytest.approx(plain.loc[2, "match_probability"]), "other pattern"
    assert learned.loc[0, "outcome"] == "non_match" and learned.loc[0, "conflict"]
    accepted, _ = score_pairs(frame, pairs, model, settings, Labels(np.array([[0, 1]]), np.array([True])))
    assert accepted.loc[1, "match_probability"] > plain.loc[1, "match_probability"]
    assert accepted.loc[0, "outcome"] == "match" and not accepted.loc[0, "conflict"]


@pytest.mark.unit
def test_the_review_order_asks_first_where_a_decision_teaches_most():
    pending = np.array([7, 7, 7, 8, 9, 9])
    probability = np.array([0.55, 0.6, 0.9, 0.55, 0.96, 0.55])
    order = teaching_order(pending, probability, np.full(6, 2), labelled_patterns=np.array([8, 8, 8]))
    assert order[0] == 0, "unsure, and its pattern covers the most pending pairs"
    assert order[1] == 5, "the next pick goes to another unlabelled pattern"
    assert list(order).index(3) > list(order).index(1), "a pattern stewards labelled three times teaches less"
    assert list(order).index(4) == 5, "a pair the model is nearly sure of comes last"
    assert sorted(order) == list(range(6))
    bigger = teaching_order(np.array([7, 7]), np.array([0.6, 0.6]), np.array([2, 9]), np.empty(0, np.int64))
    assert bigger[0] == 1, "of two equally unsure pairs, the one joining more records first"


def _xref(url: str) -> pd.Series:
    with storage.engine(url).connect() as connection:
        return store.load_xref(connection)


def _matched_pair_apart_from_others(url: str, links: pd.Series, avoid: set[str]) -> tuple[str, str]:
    """Two records the hub put in one customer (the rejection to be tested will split them)."""
    with storage.engine(url).connect() as connection:
        pairs = store.load_links(connection)
    matched = pairs[(pairs["outcome"] == "match") & ~pairs["conflict"].astype(bool)]
    for left, right in zip(matched["left_id"], matched["right_id"], strict=True):
        if links[left] == links[right] and not {links[left]} & avoid:
            return left, right
    raise AssertionError("the simulated hub has no matched pair")


@pytest.mark.pipeline
def test_decisions_change_the_clusters_teach_the_model_and_hold_in_later_runs(piped_settings):
    url = piped_settings.database_url
    engine = storage.engine(url)
    links = _xref(url)
    queue = review_queue(engine, 5)
    waiting = queue_size(engine)
    if queue:
        joined = queue[0].left_id, queue[0].right_id
        assert queue[0].pattern_pending >= 1 and queue[0].pattern_decided == 0
    else:  # no possible match in this small world: join two arbitrary customers
        joined = links.index[0], links[links != links.iloc[0]].index[0]
    split = _matched_pair_apart_from_others(url, links, {links[joined[0]], links[joined[1]]})
    with engine.begin() as connection:
        decide(connection, *joined, accept=True, steward="tester", reason=None)
        decide(connection, *split, accept=False, steward="tester", reason=None)

    learned = run_assets(piped_settings, "golden")  # a steward's decision needs matching again, not a reload
    assert learned.ok, learned.errors
    stage = learned.materializations["golden/match_pairs"]
    assert stage["model_refitted"] and stage["decisions_learned"] == 2
    with engine.connect() as connection:
        model, _ = store.load_model(connection)
    assert model.labels == (1, 1), "the stored model says what it learned from"
    after = _xref(url)
    assert after[joined[0]] == after[joined[1]]
    assert after[split[0]] != after[split[1]]
    assert queue_size(engine) <= waiting

    again = run_assets(piped_settings, "golden")
    assert again.ok and not again.materializations["golden/match_pairs"]["model_refitted"], "nothing new to learn"
    assert _xref(url).equals(after)
    with engine.begin() as connection:
        decide(connection, *split, accept=True, steward="tester", reason="changed my mind")
        assert labels_changed(connection, model, read_labels(connection, pd.Index(sorted(after.index))))


@pytest.mark.unit
def test_the_queue_asks_once_per_pair_of_customers_in_teaching_order():
    pending = pd.DataFrame(
        {
            "left_id": ["a1", "a2", "b1", "x1", "a3"],
            "right_id": ["b1", "b2", "a1", "b2", "c1"],
            "left_customer": ["A", "A", "B", None, "A"],
            "right_customer": ["B", "B", "A", "B", "C"],
        }
    )
    order = np.array([1, 0, 4, 2, 3])
    # 1 and 0 and 2 all ask whether A and B are one person: the first in the order stands for them; a record
    # in no customer yet (x1) is its own question.
    assert one_per_customer_pair(pending, order).tolist() == [1, 4, 3]
