"""Stewards' decisions as labels: the model moves the way they point, the review queue asks first what
teaches most, and on a simulated hub decisions change the clusters and keep changing them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import run_assets
from typer.testing import CliRunner

from hub import golden_store as store
from hub import schema, storage
from hub.cli import app
from hub.review import decide, labels_changed, one_per_customer_pair, queue_size, read_labels, review_queue
from transforms.matching.engine import score_pairs
from transforms.matching.features import LEVELS
from transforms.matching.labels import Labels, corroborated, pattern_corrections, patterns, teaching_order
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


@pytest.mark.unit
def test_only_pairs_with_two_kinds_of_evidence_are_asked():
    rows = [  # first_name, last_name, email, phone, birth, address
        (3, 3, 0, -1, -1, -1),  # one name, two emails, nothing else known: nothing to weigh
        (3, 3, -1, -1, -1, -1),
        (1, 3, 0, 0, -1, 0),  # everything else differs
        (-1, -1, 3, -1, -1, -1),  # no names, one email
        (-1, -1, -1, 2, -1, -1),  # no names, one phone
        (3, 3, 0, -1, -1, 2),  # a name and the same postal code
        (1, 3, -1, -1, 2, -1),  # a name and the same day and month of birth
        (0, 3, 3, -1, -1, -1),  # a last name and an email
        (-1, -1, 3, 2, -1, -1),  # no names, but an email and a phone
    ]
    levels = pd.DataFrame(rows, columns=list(LEVELS))
    assert corroborated(levels).tolist() == [False] * 5 + [True] * 4


@pytest.mark.pipeline
@pytest.mark.parametrize("piped_backend", ["duckdb"], indirect=True)
def test_a_possible_match_on_names_alone_is_held_back_from_the_queue(piped_settings):
    """Two possible matches between customers: one whose records share only names is not asked (and is
    listed with ``held_back``), one that shares a phone as well is."""
    engine = storage.engine(piped_settings.database_url)
    links = _xref(piped_settings.database_url)
    first = links.groupby(links).head(1)  # one record of each customer
    (a, b, c, d) = sorted(first.index[:4])
    names_only, with_phone = (3, 3, 0, -1, -1, -1), (3, 3, 0, 2, -1, -1)
    table = schema.match_pair
    with engine.begin() as connection:
        for left, right in ((a, b), (c, d)):
            connection.execute(table.delete().where(table.c.left_id == left, table.c.right_id == right))
        for (left, right), levels in (((a, b), names_only), ((c, d), with_phone)):
            connection.execute(
                table.insert().values(
                    left_id=left,
                    right_id=right,
                    **{f"level_{f}": level for f, level in zip(LEVELS, levels, strict=True)},
                    **{f"weight_{f}": 0.0 for f in LEVELS},
                    match_weight=0.0,
                    match_probability=0.5,
                    outcome="possible",
                    conflict=False,
                    scored_at=pd.Timestamp("2026-11-01"),
                )
            )
    asked = {(i.left_id, i.right_id) for i in review_queue(engine, 100_000)}
    held = {(i.left_id, i.right_id) for i in review_queue(engine, 100_000, held_back=True)}
    assert (c, d) in asked and (a, b) not in asked
    assert (a, b) in held and (c, d) not in held
    assert queue_size(engine) == len(asked) and queue_size(engine, held_back=True) == len(held)
    env = {**piped_settings.environment(), "COLUMNS": "200"}
    listed = CliRunner().invoke(app, ["--role", "steward", "review", "--limit", "100000"], env=env)
    held_listed = CliRunner().invoke(app, ["--role", "steward", "review", "--held-back", "--limit", "100000"], env=env)
    assert listed.exit_code == held_listed.exit_code == 0, listed.output + held_listed.output
    assert c in listed.output and a not in listed.output and f"{len(held):,} more possible matches" in listed.output
    assert a in held_listed.output and c not in held_listed.output
