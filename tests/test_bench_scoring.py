"""The benchmark's account of false merges: what, if anything, tells the merged people apart."""

from __future__ import annotations

import pandas as pd
import pytest

from hub import golden_store, storage
from hub.bench.runner import run_benchmark
from hub.bench.scoring import false_merges, pairwise_scores, read_truth

pytestmark = pytest.mark.unit


def _records(*rows: tuple) -> pd.DataFrame:
    """Rows of unique_id, phone, birth_month_day, postal_code, email and (if given) street."""
    columns = ["unique_id", "phone", "birth_month_day", "postal_code", "email", "street"]
    frame = pd.DataFrame([(*r, None)[:6] for r in rows], columns=columns).set_index("unique_id")
    return frame.assign(street_name=frame["street"].str.split(" ").str[0])


def test_false_pairs_are_put_down_to_the_first_attribute_the_two_people_share_no_value_of():
    records = _records(
        # cluster c1: person A (2 records) and B (1 record), told apart by postal code only
        ("a1", None, None, "00100", "a@x.fi"),
        ("a2", None, None, "00100", None),
        ("b1", None, None, "33100", "a@x.fi"),
        # cluster c2: person C and D give one email and nothing else: nothing tells them apart
        ("c1", None, None, None, "c@x.fi"),
        ("d1", None, None, None, "c@x.fi"),
        # cluster c3: E and F differ on phone (and on email, which comes later in the order)
        ("e1", "+358401", None, None, "e@x.fi"),
        ("f1", "+358402", None, None, "f@x.fi"),
        # cluster c4: one person, no false pair
        ("g1", None, None, None, "g@x.fi"),
        ("g2", None, None, None, "g@x.fi"),
        # cluster c5: H and I live in one postal code, at two homes
        ("h1", None, None, "00100", "h@x.fi", "koivutie 2"),
        ("i1", None, None, "00100", "h@x.fi", "koivutie 8"),
    )
    predicted = pd.Series(["c1", "c1", "c1", "c2", "c2", "c3", "c3", "c4", "c4", "c5", "c5"], index=records.index)
    truth = pd.Series(["A", "A", "B", "C", "D", "E", "F", "G", "G", "H", "I"], index=records.index)

    merges = false_merges(records, predicted, truth)

    told = {"phone": 1, "birth_month_day": 0, "postal_code": 2, "home": 1, "email": 0, "nothing": 1}
    assert merges.pairs_by_evidence == told
    # 3 + 1 + 1 + 1 + 1 = 7 predicted pairs, 5 false; without the 4 told apart, 3 pairs of which 1 false
    assert merges.precision_bound == pytest.approx(1 - 1 / 3)


def test_a_clustering_without_false_merges_has_a_bound_of_one():
    records = _records(("a1", None, None, None, "a@x.fi"), ("a2", None, None, None, "a@x.fi"))
    labels = pd.Series(["c", "c"], index=records.index)
    merges = false_merges(records, labels, pd.Series(["A", "A"], index=records.index))
    assert sum(merges.pairs_by_evidence.values()) == 0
    assert merges.precision_bound == 1.0


@pytest.mark.pipeline
def test_hub_bench_puts_down_every_false_pair_it_scored(tmp_path):
    """``hub bench`` end to end on a small world: the breakdown covers exactly the false pairs scored."""
    summary = run_benchmark(300, seed=3, workdir=tmp_path, splink=False, profiles=("hard",))
    report = summary["profiles"]["hard"]
    with storage.engine(f"duckdb:///{tmp_path / 'hard' / 'hub.duckdb'}").connect() as connection:
        xref = golden_store.load_xref(connection)
    scores = pairwise_scores(xref, read_truth(tmp_path / "hard" / "systems"))
    assert report["scores"]["hub"]["precision"] == pytest.approx(scores.precision)
    told = report["false_merges"]["pairs_by_evidence"]
    assert sum(told.values()) == scores.predicted_pairs - scores.true_positive_pairs
