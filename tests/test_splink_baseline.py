"""The Splink baseline of the matching benchmark finds the duplicates in easy synthetic data.

Splink is the benchmark's dependency (the `bench` extra), which `make test` installs too.
"""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

import pandas as pd
import pytest

from hub.bench.splink_baseline import SplinkResult, run_splink

# fmt: off
FIRST_NAMES = [
    "matti", "juha", "mikko", "timo", "jari", "antti", "ville", "jussi", "sami", "petri", "maria",
    "anna", "päivi", "sari", "tiina", "johanna", "riikka", "minna", "satu", "jenni", "aino", "eveliina",
    "väinö", "yrjö", "kyösti", "sofia", "emilia", "helmi", "onni", "eino",
]
LAST_NAMES = [
    "korhonen", "virtanen", "mäkinen", "nieminen", "mäkelä", "hämäläinen", "laine", "heikkinen",
    "koskinen", "järvinen", "lehtonen", "lehtinen", "saarinen", "salminen", "heinonen", "niemi",
    "heikkilä", "kinnunen", "salonen", "turunen", "salo", "laitinen", "tuominen", "rantanen",
    "karjalainen", "jokinen", "mattila", "savolainen", "lahtinen", "ahonen",
]
CITIES = {
    "helsinki": ["00100", "00150", "00530", "00980"],
    "tampere": ["33100", "33200", "33500"],
    "turku": ["20100", "20500", "20810"],
    "oulu": ["90100", "90500"],
    "jyväskylä": ["40100", "40520"],
}
STREETS = [
    "hämeenkatu", "koivutie", "mannerheimintie", "rantakatu", "kirkkokatu", "puistotie", "myllytie",
    "asemakatu", "kauppakatu", "sibeliuksenkatu", "kalevankatu", "pajatie", "mäntytie", "ojakatu",
]
# fmt: on
DOMAINS = ["gmail.com", "outlook.com", "hotmail.com", "elisanet.fi", "kolumbus.fi"]
SYSTEMS = ["erp", "webshop", "loyalty", "esp"]


def _typo(text: str, rng: random.Random) -> str:
    """A keyboard slip that keeps the first letter: swap, drop or double one inner character."""
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]


def _people(count: int, rng: random.Random, namesakes: int) -> list[dict]:
    people = []
    taken_emails: set[str] = set()
    for pid in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if pid >= count - namesakes:  # a different person who shares the full name of someone else
            namesake = people[rng.randrange(count - namesakes)]
            first, last = namesake["first_name"], namesake["last_name"]
        city = rng.choice(list(CITIES))
        email = f"{first}.{last}".translate(str.maketrans("äöå", "aoa")) + f"{rng.randrange(100)}@{rng.choice(DOMAINS)}"
        while email in taken_emails:
            email = f"{rng.randrange(10)}{email}"
        taken_emails.add(email)
        people.append(
            {
                "person": pid,
                "first_name": first,
                "last_name": last,
                "birth_date": date(1940, 1, 1) + timedelta(days=rng.randrange(65 * 365)),
                "email": email,
                "phone": f"+35840{rng.randrange(10**7):07d}",
                "street": f"{rng.choice(STREETS)} {rng.randrange(1, 80)}"
                + (f" {rng.choice('abc')} {rng.randrange(1, 40)}" if rng.random() < 0.5 else ""),
                "postal_code": rng.choice(CITIES[city]),
                "city": city,
            }
        )
    return people


def _record(person: dict, system: str, serial: int, rng: random.Random) -> dict:
    first, last, street = person["first_name"], person["last_name"], person["street"]
    if rng.random() < 0.15:
        first = _typo(first, rng)
    if rng.random() < 0.15:
        last = _typo(last, rng)
    if rng.random() < 0.1:
        street = _typo(street, rng)
    birth = person["birth_date"]
    record = {
        "unique_id": f"{system}:{serial}",
        "source_system": system,
        "first_name": first,
        "last_name": last,
        "email": person["email"] if system == "esp" or rng.random() < 0.75 else None,
        "phone": person["phone"] if system != "esp" and rng.random() < 0.7 else None,
        "birth_date": pd.Timestamp(birth) if system != "esp" and rng.random() < 0.9 else pd.NaT,
        "birth_month_day": birth.strftime("%m-%d"),
        "postal_code": person["postal_code"] if system != "esp" else None,
        "street": street if system != "esp" else None,
        "city": person["city"] if system != "esp" else None,
        "person": person["person"],
    }
    if system != "esp" and pd.isna(record["birth_date"]) and rng.random() < 0.5:
        record["birth_month_day"] = None  # no birth information at all
    return record


def synthetic_records(persons: int = 200, seed: int = 3, namesakes: int = 10) -> pd.DataFrame:
    """`persons` people, each held by 2-3 of the four systems with typos and gaps; `person` is the truth."""
    rng = random.Random(seed)
    rows = []
    for serial, person in enumerate(_people(persons, rng, namesakes)):
        for system in rng.sample(SYSTEMS, rng.choice([2, 2, 3])):
            rows.append(_record(person, system, serial, rng))
    frame = pd.DataFrame(rows)
    frame["birth_date"] = pd.to_datetime(frame["birth_date"]).astype("datetime64[ns]")
    return frame


def true_pairs(records: pd.DataFrame) -> set[tuple[str, str]]:
    pairs = set()
    for _, ids in records.groupby("person")["unique_id"]:
        pairs.update(tuple(sorted(pair)) for pair in itertools.combinations(ids, 2))
    return pairs


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return synthetic_records()


@pytest.fixture(scope="module")
def result(records: pd.DataFrame) -> SplinkResult:
    return run_splink(records.drop(columns=["person"]), match_threshold=0.9, cluster_threshold=0.9, seed=1)


def test_synthetic_records_follow_the_input_contract(records: pd.DataFrame) -> None:
    assert records["unique_id"].is_unique
    assert set(records["source_system"]) == set(SYSTEMS)
    assert records["birth_date"].dtype == "datetime64[ns]"
    esp = records[records["source_system"] == "esp"]
    assert esp["birth_date"].isna().all() and esp["birth_month_day"].notna().all()
    namesakes = records.groupby(["first_name", "last_name"])["person"].nunique()
    assert (namesakes > 1).any()


def test_result_shapes(records: pd.DataFrame, result: SplinkResult) -> None:
    assert list(result.pairs.columns) == ["unique_id_l", "unique_id_r", "match_probability"]
    assert list(result.clusters.columns) == ["unique_id", "cluster_id"]
    assert sorted(result.clusters["unique_id"]) == sorted(records["unique_id"])
    assert set(result.clusters["cluster_id"]) <= set(records["unique_id"])
    assert (result.pairs["match_probability"] >= 0.9).all()
    assert (result.pairs["unique_id_l"] < result.pairs["unique_id_r"]).all()
    assert not result.pairs.duplicated(["unique_id_l", "unique_id_r"]).any()
    assert result.seconds > 0
    assert result.peak_rss_mb > 0


def test_cluster_id_is_the_smallest_unique_id_of_its_cluster(result: SplinkResult) -> None:
    smallest = result.clusters.groupby("cluster_id")["unique_id"].min()
    assert (smallest.index == smallest.to_numpy()).all()


def test_finds_most_true_duplicate_pairs(records: pd.DataFrame, result: SplinkResult) -> None:
    truth = true_pairs(records)
    found = set(zip(result.pairs["unique_id_l"], result.pairs["unique_id_r"], strict=True))
    precision = len(found & truth) / len(found)
    recall = len(found & truth) / len(truth)
    assert precision > 0.8, f"precision {precision:.3f}"
    assert recall > 0.8, f"recall {recall:.3f}"


def test_clusters_group_the_same_person(records: pd.DataFrame, result: SplinkResult) -> None:
    merged = records[["unique_id", "person"]].merge(result.clusters, on="unique_id")
    clustered = {
        tuple(sorted(pair))
        for _, ids in merged.groupby("cluster_id")["unique_id"]
        for pair in itertools.combinations(ids, 2)
    }
    truth = true_pairs(records)
    assert len(clustered & truth) / len(truth) > 0.8
    assert len(clustered & truth) / max(len(clustered), 1) > 0.8


def test_same_seed_same_result(records: pd.DataFrame, result: SplinkResult) -> None:
    again = run_splink(records.drop(columns=["person"]), match_threshold=0.9, cluster_threshold=0.9, seed=1)
    pd.testing.assert_frame_equal(again.pairs, result.pairs, atol=1e-9)
    pd.testing.assert_frame_equal(again.clusters, result.clusters)


def test_a_single_record_is_its_own_cluster(records: pd.DataFrame) -> None:
    one = records.drop(columns=["person"]).head(1)
    single = run_splink(one)
    assert single.pairs.empty
    uid = one["unique_id"].iloc[0]
    assert single.clusters.to_dict("records") == [{"unique_id": uid, "cluster_id": uid}]


def test_rejects_records_without_the_contract_columns(records: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="email"):
        run_splink(records.drop(columns=["email"]))
