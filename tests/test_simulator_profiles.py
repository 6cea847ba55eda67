"""The simulator's profiles: each kind of mistake at the rate its profile sets, measured in the systems' data.

Rates are measured from what the four systems hold and what the truth file says, against the true
persons the simulator keeps in its state; the name tables are checked for the documented shape.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
import sqlite3
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz.distance import DamerauLevenshtein

from hub.simulator import advance, generate, habits, identity, load_meta, namebook, noise, state
from hub.simulator.people import Population, generate_population
from hub.simulator.profiles import HARD, STANDARD, Profile, resolve

PERSONS = 5000
SEED = 11
TODAY = date(2026, 11, 1)


@dataclass(frozen=True)
class Record:
    system: str  # 'erp', 'webshop' (accounts and guest orders), 'loyalty', 'esp'
    key: str
    person: int
    first: str
    last: str
    email: str
    deleted: bool = False


@dataclass(frozen=True)
class World:
    profile: Profile
    path: Path
    pop: Population
    records: list[Record]


def _truth(path: Path) -> dict[tuple[str, str], int]:
    with (path / "truth.csv").open(encoding="utf-8", newline="") as handle:
        return {(row["system"], row["source_key"]): int(row["person_id"][1:]) for row in csv.DictReader(handle)}


def _rows(path: Path, query: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


def read_records(path: Path) -> list[Record]:
    """Every identity record of the four systems with the person the truth file names for it."""
    truth = _truth(path)
    out = [
        Record("erp", no, truth["erp", no], first, last, email or "", bool(deleted))
        for no, first, last, email, deleted in _rows(
            path / "erp.sqlite", "SELECT customer_no, first_name, last_name, email, is_deleted FROM customer"
        )
    ]
    for (text,) in _rows(path / "webshop.sqlite", "SELECT doc FROM customer"):
        doc = json.loads(text)
        key, bill = str(doc["id"]), doc["billing"]
        out.append(Record("webshop", key, truth["webshop", key], bill["first_name"], bill["last_name"], doc["email"]))
    for (text,) in _rows(path / "webshop.sqlite", "SELECT doc FROM orders WHERE customer_id = 0"):
        doc = json.loads(text)
        key, bill = f"order:{doc['id']}", doc["billing"]
        out.append(Record("webshop", key, truth["webshop", key], bill["first_name"], bill["last_name"], bill["email"]))
    snapshot = path / "loyalty" / f"jasenet_{load_meta(path).clock:%Y%m%d}.csv"
    with snapshot.open(encoding="utf-8-sig", newline="") as handle:
        for row in list(csv.reader(handle, delimiter=";"))[1:]:
            out.append(Record("loyalty", row[0], truth["loyalty", row[0]], row[1], row[2], row[5]))
    for mid, text in _rows(path / "esp.sqlite", "SELECT id, doc FROM member"):
        doc = json.loads(text)
        names = doc["merge_fields"]
        out.append(Record("esp", mid, truth["esp", mid], names["FNAME"], names["LNAME"], doc["email_address"]))
    assert len(out) == len(truth), "every record is in the truth, and the truth holds nothing else"
    return out


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, World]:
    out = {}
    for profile in (STANDARD, HARD):
        path = tmp_path_factory.mktemp(profile.name)
        generate(path, PERSONS, seed=SEED, today=TODAY, profile=profile.name)
        out[profile.name] = World(profile, path, state.load(path)[0], read_records(path))
    return out


def assert_rate(hits: int, total: int, expected: float, slack: float = 0.05) -> None:
    """`hits / total` is `expected` within three binomial standard deviations and `slack` of it."""
    assert total > 0
    sigma = math.sqrt(max(expected * (1 - expected), 1e-9) / total)
    measured = hits / total
    assert abs(measured - expected) <= 3 * sigma + slack * expected, (measured, expected, hits, total)


def fold(text: str) -> str:
    return noise.strip_umlauts(text).casefold()


def known_addresses(world: World, person: int) -> set[str]:
    pop = world.pop
    mine = {pop.email[person], pop.email_alt[person], pop.email_family[person]}
    if pop.namesake[person] >= 0:
        mine.add(pop.email[pop.namesake[person]])
    return {address.lower() for address in mine if address}


PROFILES = pytest.mark.parametrize("name", ["standard", "hard"])


# --- the truth -----------------------------------------------------------------------------------


@PROFILES
def test_soft_deleted_erp_customers_are_in_the_truth_at_the_configured_rate(worlds, name) -> None:
    world = worlds[name]
    erp = [record for record in world.records if record.system == "erp"]
    owners = Counter(record.person for record in erp)
    seconds = sum(count - 1 for count in owners.values())
    expected = world.profile.erp_deleted + seconds / len(erp) * world.profile.erp_duplicate_deleted
    assert_rate(sum(record.deleted for record in erp), len(erp), expected)
    guests = [record for record in world.records if record.key.startswith("order:")]
    assert guests and all(0 <= record.person < len(world.pop) for record in guests)


# --- shared addresses ----------------------------------------------------------------------------


def test_about_one_address_in_twenty_is_used_by_more_than_one_person(worlds) -> None:
    shares = {}
    for name, world in worlds.items():
        users = defaultdict(set)
        for record in world.records:
            if record.email:
                users[record.email.lower()].add(record.person)
        shares[name] = sum(len(people) > 1 for people in users.values()) / len(users)
    assert shares["standard"] >= 0.05, shares
    assert shares["hard"] > shares["standard"] * 1.3, shares


@PROFILES
def test_households_share_one_address_at_the_configured_rate(worlds, name) -> None:
    pop = worlds[name].pop
    sizes = Counter(pop.household.tolist())
    heads = {}
    for person, household in enumerate(pop.household.tolist()):
        heads.setdefault(household, person)
    multi = [h for h, size in sizes.items() if size >= 2]
    assert_rate(sum(bool(pop.email_family[heads[h]]) for h in multi), len(multi), worlds[name].profile.family_email)


@PROFILES
def test_records_carry_a_namesakes_address_at_the_configured_rate(name) -> None:
    # Namesakes are rare among a few thousand persons: render loyalty records for those of a larger crowd.
    profile = resolve(name)
    pop = generate_population(40_000, SEED, TODAY, profile)
    theirs = [pop.email[n] if n >= 0 else "" for n in pop.namesake.tolist()]
    idx = np.array([p for p, email in enumerate(theirs) if email and email != pop.email[p]])
    emails = identity.render_emails(pop, idx, profile.loyalty, profile, np.random.default_rng(1), random.Random(1))
    hits = sum(email == theirs[p] for email, p in zip(emails, idx.tolist(), strict=True))
    assert len(idx) > 1000
    assert_rate(hits, len(idx), profile.namesake_email * (1 - profile.loyalty.email_missing))


# --- households and namesakes ---------------------------------------------------------------------


def _households(pop: Population) -> list[list[int]]:
    members = defaultdict(list)
    for person, household in enumerate(pop.household.tolist()):
        members[household].append(person)
    return [people for people in members.values() if len(people) >= 2]


@PROFILES
def test_household_members_get_similar_names_at_the_configured_rate(worlds, name) -> None:
    world = worlds[name]
    pop = world.pop
    hits = 0
    background = []
    for members in _households(pop):
        last, before = members[-1], members[-2]
        male = bool(pop.sex[last])
        options = namebook.similar_names(pop.first[before], male)
        if options:
            hits += pop.first[last] in options
            background.append(sum(namebook.first_names(male).share(option) for option in options))
    rate = world.profile.similar_names
    assert_rate(hits, len(background), rate + (1 - rate) * float(np.mean(background)))


@PROFILES
def test_households_give_one_phone_at_the_configured_rate(worlds, name) -> None:
    world = worlds[name]
    pop = world.pop
    households = _households(pop)
    shared = sum(bool(pop.phone[m[0]]) and all(pop.phone[p] == pop.phone[m[0]] for p in m) for m in households)
    assert_rate(shared, len(households), world.profile.household_phone * 0.92)


@PROFILES
def test_namesakes_live_on_one_street_at_the_configured_rate(name) -> None:
    profile = replace(resolve(name), kin_neighbours=0.0)  # relatives moving together would move namesakes too
    pop = generate_population(40_000, SEED, TODAY, profile)
    with_namesake = np.flatnonzero(pop.namesake >= 0)
    # Two namesakes point at each other, so a move brings both to one street.
    mutual = float(np.mean(pop.namesake[pop.namesake[with_namesake]] == with_namesake))
    together = sum(
        pop.street[p] == pop.street[pop.namesake[p]] and pop.postcode[p] == pop.postcode[pop.namesake[p]]
        for p in with_namesake.tolist()
    )
    assert_rate(together, len(with_namesake), profile.namesake_neighbours * (1 + mutual), slack=0.15)


@PROFILES
def test_relatives_of_one_surname_live_on_one_street_at_the_configured_rate(name) -> None:
    profile = replace(resolve(name), namesake_neighbours=0.0)
    pop = generate_population(40_000, SEED, TODAY, profile)
    heads = np.flatnonzero(np.diff(pop.household, prepend=-1) != 0)
    kin = habits.find_kin([pop.last[h] for h in heads.tolist()])
    with_kin = np.flatnonzero(kin >= 0)
    mutual = float(np.mean(kin[kin[with_kin]] == with_kin))
    together = sum(
        pop.street[heads[h]] == pop.street[heads[kin[h]]] and pop.postcode[heads[h]] == pop.postcode[heads[kin[h]]]
        for h in with_kin.tolist()
    )
    assert_rate(together, len(with_kin), profile.kin_neighbours * (1 + mutual), slack=0.15)


# --- married names -------------------------------------------------------------------------------


@PROFILES
def test_married_names_replace_the_old_one_at_the_configured_rate(worlds, name) -> None:
    world = worlds[name]
    pop = world.pop
    renamed = [p for p in range(len(pop)) if pop.maiden[p]]
    replaced = {p for p in renamed if "-" not in pop.last[p]}
    assert_rate(len(replaced), len(renamed), world.profile.married_name_replaced)
    # The missed merge: one system still knows the old surname, another only the new one.
    names = defaultdict(lambda: defaultdict(set))
    for record in world.records:
        if record.person in replaced:
            names[record.person][fold(record.last)].add(record.system)
    split = sum(
        any(old != new for old in by_name[fold(pop.maiden[p])] for new in by_name[fold(pop.last[p])])
        for p, by_name in names.items()
    )
    assert split > 0.15 * len(names), (split, len(names))
    for system, kept in (("erp", world.profile.erp), ("loyalty", world.profile.loyalty)):
        shown = [r for r in world.records if r.system == system and r.person in replaced]
        new_only = sum(fold(r.last) == fold(pop.last[r.person]) for r in shown)
        assert_rate(new_only, len(shown), (1 - kept.maiden_name - kept.double_name) * 0.93, slack=0.1)


# --- slips in names and emails --------------------------------------------------------------------


@PROFILES
def test_erp_swaps_first_and_last_name_at_the_configured_rate(worlds, name) -> None:
    world = worlds[name]
    pop = world.pop
    erp = [r for r in world.records if r.system == "erp"]
    surnames = [{fold(pop.last[r.person]), fold(pop.maiden[r.person])} - {""} for r in erp]
    swapped = sum(fold(r.first) in names for r, names in zip(erp, surnames, strict=True))
    assert_rate(swapped, len(erp), world.profile.erp.swapped_names, slack=0.2)


def _one_off(typed: str, true: str) -> bool:
    return typed != true and DamerauLevenshtein.distance(typed, true) == 1


@PROFILES
def test_double_typos_and_swapped_names_with_a_typo_at_the_configured_rates(worlds, name) -> None:
    world = worlds[name]
    pop = world.pop
    double = swapped = 0
    for r in world.records:
        first, last = fold(pop.first[r.person]), fold(pop.last[r.person])
        double += _one_off(fold(r.first), first) and _one_off(fold(r.last), last)
        typed_first, typed_last = fold(r.first), fold(r.last)
        swapped += (typed_last == first and _one_off(typed_first, last)) or (
            typed_first == last and _one_off(typed_last, first)
        )
    # Nicknames, maiden names and full given names hide some slips: about a tenth of them.
    assert_rate(double, len(world.records), world.profile.double_typo * 0.9, slack=0.25)
    assert_rate(swapped, len(world.records), world.profile.swapped_typo * 0.9, slack=0.3)


@PROFILES
def test_emails_are_one_character_off_or_reordered_at_the_configured_rates(worlds, name) -> None:
    world = worlds[name]
    typos = reordered = with_email = two_part = 0
    for r in world.records:
        email = r.email.lower()
        if not email:
            continue
        with_email += 1
        local, _, domain = email.partition("@")
        known = [k.partition("@") for k in known_addresses(world, r.person)]
        if email in known_addresses(world, r.person):
            two_part += noise.reorder_user(local) != local
        elif any(d == domain and noise.reorder_user(k) == local != k for k, _, d in known):
            reordered += 1
            two_part += 1
        elif any(d == domain and _one_off(local, k) for k, _, d in known):
            typos += 1
    assert_rate(typos, with_email, world.profile.email_typo, slack=0.25)
    assert_rate(reordered, two_part, world.profile.email_reordered, slack=0.25)


# --- names ----------------------------------------------------------------------------------------


def test_the_name_tables_have_the_documented_heavy_tailed_shape() -> None:
    surnames = namebook.surnames()
    assert surnames.names[:2] == ("Korhonen", "Virtanen")
    assert 0.0040 <= surnames.weights[0] <= 0.0046
    assert 0.25 <= surnames.weights[:200].sum() <= 0.33
    assert len(surnames.names) > 5000 and surnames.weights[-1] < surnames.weights[0] / 100
    men, women = namebook.first_names(True), namebook.first_names(False)
    assert 0.015 <= men.weights[0] <= 0.019 and 0.010 <= women.weights[0] <= 0.014
    assert men.weights[:100].sum() > women.weights[:100].sum()
    assert namebook.middle_names(False).names[0] == "Maria" and namebook.middle_names(True).names[0] == "Juhani"
    for group in (("Maria", "Marja", "Marjatta", "Maarit"), ("Anna", "Anne", "Anni", "Annika")):
        assert set(group[1:]) <= set(namebook.similar_names(group[0], False))
    for group in (("Jari", "Jarmo", "Jarkko"), ("Heikki", "Henrik", "Henri"), ("Mikko", "Mika", "Mikael")):
        assert set(group[1:]) <= set(namebook.similar_names(group[0], True))
    assert "Hanna" in namebook.similar_names("Hannu", False)


def test_common_full_names_recur_as_among_many_finns() -> None:
    pop = generate_population(40_000, SEED, TODAY, STANDARD)
    surnames = Counter(pop.last)
    top = namebook.surnames().weights[0]
    assert abs(surnames["Korhonen"] / len(pop) - top) < 4 * math.sqrt(top / len(pop)) + 0.0008
    full = Counter(zip(pop.first, pop.last, strict=True))
    namesakes = sum(count for count in full.values() if count > 1) / len(pop)
    assert 0.03 < namesakes < 0.3, namesakes
    assert np.mean(pop.namesake >= 0) > 0.8 * namesakes
    assert sum(count == 1 for count in surnames.values()) > 0.1 * len(surnames), "a long tail of rare surnames"


# --- profiles --------------------------------------------------------------------------------------


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_and_profile_give_the_same_world_and_the_profiles_differ(tmp_path: Path) -> None:
    generate(tmp_path / "a", 400, seed=5, today=TODAY, profile="hard")
    generate(tmp_path / "b", 400, seed=5, today=TODAY, profile=HARD)
    generate(tmp_path / "c", 400, seed=5, today=TODAY)
    first, second, standard = (_hashes(tmp_path / name) for name in "abc")
    assert first == second
    for name in ("truth.csv", "erp.sqlite", "webshop.sqlite", "esp.sqlite", "simulation.json"):
        assert first[name] != standard[name], name
    assert load_meta(tmp_path / "a").profile == HARD and load_meta(tmp_path / "c").profile == STANDARD


def test_advance_keeps_the_profile_the_world_was_generated_with(tmp_path: Path) -> None:
    custom = Profile(name="custom", family_email=0.9, email_typo=0.2)
    generate(tmp_path, 2000, seed=5, today=TODAY, profile=custom)
    meta = advance(tmp_path, days=3)
    assert meta.profile == custom and load_meta(tmp_path).profile == custom
    pop = state.load(tmp_path)[0]
    assert len(pop) > 2000, "persons were born on the days advanced"
    assert (pop.namesake < len(pop)).all(), "a newcomer's namesake is a person of the whole population"


def test_profiles_are_named_or_given_and_round_trip_through_their_dict() -> None:
    assert resolve("standard") is STANDARD and resolve(HARD) is HARD
    assert Profile.from_dict(json.loads(json.dumps(asdict(HARD)))) == HARD
    assert HARD != STANDARD and HARD.erp != STANDARD.erp
    with pytest.raises(ValueError, match="unknown simulator profile"):
        resolve("easy")


def test_newcomers_fill_their_households_whatever_the_draw_of_sizes() -> None:
    # Seed 58, stream 10006: the first draw of household sizes holds 199 places for 200 newcomers.
    pop = generate_population(200, 58, TODAY, resolve("standard"), stream=10_006)
    assert len(pop.household) == 200
    assert Counter(pop.household.tolist()).most_common(1)[0][1] <= 5
