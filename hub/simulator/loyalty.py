"""The loyalty programme: the vendor's nightly CSV drops in their Finnish dialect.

UTF-8 with a BOM, ';' separated, DD.MM.YYYY dates, DD.MM.YYYY HH:MM times, decimal comma. The
vendor's export is not perfect: about two rows in a thousand are broken (a field missing or
extra, an impossible date, an 'O' for a '0'), and now and then a file is delivered again.
Members were keyed in at a shop counter years ago, so old names and postcodes linger here.
The clean member register lives in the simulator's state; each night renders a snapshot of it.
"""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hub.simulator import clock, identity, people, wordlists
from hub.simulator.world import World

FOLDER = "loyalty"
MEMBER_HEADER = [
    "jasennumero",
    "etunimi",
    "sukunimi",
    "syntymaaika",
    "puhelin",
    "sahkoposti",
    "postinumero",
    "liittynyt",
    "taso",
    "pisteet",
    "markkinointilupa",
    "lupa_muutettu",
]
PURCHASE_HEADER = ["jasennumero", "myymala", "aika", "summa"]
BROKEN_SHARE = 0.002
PURCHASE_DAYS = 90
FIRST_MEMBER_NO = 20_000_001


@dataclass
class Members:
    """The clean member register: rows in the contract's column order, and who each member is."""

    rows: list[list[str]]
    persons: list[int]


def member_file(day: np.datetime64) -> str:
    return f"jasenet_{str(day.astype('datetime64[D]')).replace('-', '')}.csv"


def purchase_file(day: np.datetime64) -> str:
    return f"ostot_{str(day.astype('datetime64[D]')).replace('-', '')}.csv"


def tier(points: int) -> str:
    return "kulta" if points >= 6000 else "hopea" if points >= 2500 else "perus"


def amount(euros: float) -> str:
    """'12,90': the vendor's decimal comma."""
    return f"{euros:.2f}".replace(".", ",")


def _new_members(
    world: World,
    idx: np.ndarray,
    joined: np.ndarray,
    first_no: int,
    rng: np.random.Generator,
    r: random.Random,
    history: bool,
) -> Members:
    pop, habits = world.pop, world.profile.loyalty
    count = len(idx)
    firsts, lasts = identity.render_names(pop, idx, habits, world.profile, rng, r)
    joined_at = joined.astype("datetime64[s]")
    postcodes = identity.render_addresses(pop, idx, joined_at, habits, rng, r, world.clock).postcode
    phones = identity.render_phones(pop, idx, habits, rng)
    emails = identity.render_emails(pop, idx, habits, world.profile, rng, r)
    births = clock.finnish_date(identity.render_births(pop, idx, habits, rng))
    years = (world.today - joined).astype(np.int64) / 365.0
    points = (
        (pop.spend[idx] * rng.uniform(300, 2500, count) * np.sqrt(years)).astype(np.int64)
        if history
        else np.zeros(count, dtype=np.int64)
    )
    consent = rng.random(count) < 0.35 + 0.4 * pop.engagement[idx]
    span = np.maximum((world.today - joined).astype(np.int64), 0)
    changed = np.where(rng.random(count) < 0.3, joined + (rng.random(count) * span).astype("timedelta64[D]"), joined)
    joined_text, changed_text = clock.finnish_date(joined), clock.finnish_date(changed)
    rows = [
        [
            str(first_no + k),
            firsts[k],
            lasts[k],
            births[k],
            phones[k],
            emails[k],
            postcodes[k],
            joined_text[k],
            tier(int(points[k])),
            str(int(points[k])),
            "K" if consent[k] else "E",
            changed_text[k],
        ]
        for k in range(count)
    ]
    return Members(rows, idx.tolist())


def _home_stores(pop: people.Population, persons: list[int]) -> np.ndarray:
    stores_in = {}
    for s, name in enumerate(wordlists.LOYALTY_STORES):
        stores_in.setdefault(name.split(" ")[0], []).append(s)
    fallback = [s for s, name in enumerate(wordlists.LOYALTY_STORES) if name != "Verkkokauppa"]
    homes = []
    for k, p in enumerate(persons):
        local = stores_in.get(pop.city[p], fallback)
        homes.append(local[(p * 7 + k) % len(local)])
    return np.array(homes, dtype=np.int64)


def _purchases(
    world: World, members: Members, start: np.ndarray, end: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Purchases over each member's [start, end) days: (member row, store, moment, euros), by time."""
    pop = world.pop
    persons = np.array(members.persons, dtype=np.int64)
    days = np.clip((end - start).astype(np.int64), 0, None)
    counts = rng.poisson(0.025 * pop.spend[persons] * days)
    who = np.repeat(np.arange(len(persons)), counts)
    day = start[who] + (rng.random(len(who)) * days[who]).astype(np.int64).astype("timedelta64[D]")
    moments = clock.moments_in_days(rng, day, clock.SHOP_HOURS)
    order = np.argsort(moments, kind="stable")
    who, moments = who[order], moments[order]
    homes = _home_stores(pop, members.persons)
    u = rng.random(len(who))
    online = len(wordlists.LOYALTY_STORES) - 1
    stores = np.where(u < 0.7, homes[who], np.where(u < 0.8, online, rng.integers(0, online, len(who))))
    euros = np.round(rng.lognormal(np.log(28), 0.8, len(who)) * pop.spend[persons[who]] ** 0.3, 2)
    euros = np.where(rng.random(len(who)) < 0.015, -euros, euros)
    return who, stores, moments, euros


def _break(row: list[str], date_fields: tuple[int, ...], number_field: int, r: random.Random) -> list[str]:
    """One of the ways the vendor's export breaks a row."""
    row = list(row)
    kind = r.randrange(3)
    if kind == 0:
        return row[:-1] if r.random() < 0.5 else row + [""]
    if kind == 1:
        field = r.choice(date_fields)
        year = row[field][6:10] if len(row[field]) >= 10 else "2024"
        bad = f"31.02.{year}" if r.random() < 0.5 else f"{year}-13-01"
        row[field] = bad + row[field][10:]
        return row
    value = row[number_field]
    digits = [i for i, ch in enumerate(value) if ch in "0123456789"]
    i = digits[-1] if digits else 0
    row[number_field] = value[:i] + "O" + value[i + 1 :] if digits else "O"
    return row


def _write(
    path: Path,
    header: list[str],
    rows: list[list[str]],
    date_fields: tuple[int, ...],
    number_field: int,
    r: random.Random,
    delivered: np.datetime64,
) -> None:
    """Write one drop file in the vendor's dialect, with its share of broken rows and its delivery mtime."""
    broken = [i for i in range(len(rows)) if r.random() < BROKEN_SHARE]
    rows = list(rows)
    for i in broken:
        rows[i] = _break(rows[i], date_fields, number_field, r)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    stamp = int(delivered.astype("datetime64[s]").astype(np.int64))
    os.utime(path, (stamp, stamp))


def write_snapshot(folder: Path, members: Members, day: np.datetime64, seed: int) -> None:
    """jasenet_YYYYMMDD.csv: the full register as the vendor exports it in the night of `day`."""
    r = random.Random(f"{seed}:jasenet:{day}")
    delivered = day.astype("datetime64[s]") + np.timedelta64(3 * 3600, "s")
    _write(folder / member_file(day), MEMBER_HEADER, members.rows, (3, 7, 11), 9, r, delivered)


def write_purchases(
    folder: Path,
    members: Members,
    who: np.ndarray,
    stores: np.ndarray,
    moments: np.ndarray,
    euros: np.ndarray,
    day: np.datetime64,
    seed: int,
) -> None:
    """ostot_YYYYMMDD.csv: the purchases of `day`, delivered the following night."""
    r = random.Random(f"{seed}:ostot:{day}")
    times = clock.finnish_time(moments)
    rows = [
        [members.rows[w][0], wordlists.LOYALTY_STORES[s], t, amount(e)]
        for w, s, t, e in zip(who.tolist(), stores.tolist(), times, euros.tolist(), strict=False)
    ]
    delivered = day.astype("datetime64[s]") + np.timedelta64(26 * 3600 + 1800, "s")
    _write(folder / purchase_file(day), PURCHASE_HEADER, rows, (2,), 3, r, delivered)


def generate(world: World) -> tuple[Members, list[tuple[str, str, str]], int]:
    """Write the loyalty folder; returns the register, the truth rows and the number of purchases."""
    rng, r = world.streams("loyalty")
    pop = world.pop
    folder = world.out_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    idx = np.flatnonzero(pop.in_loyalty > 0)
    joined = world.today - rng.integers(1, 9 * 365, size=len(idx)).astype("timedelta64[D]")
    order = np.argsort(joined, kind="stable")
    members = _new_members(world, idx[order], joined[order], FIRST_MEMBER_NO, rng, r, history=True)

    persons = np.array(members.persons, dtype=np.int64)
    first_day = world.today - np.timedelta64(PURCHASE_DAYS, "D")
    joined_days = joined[order]
    start = np.maximum(joined_days, first_day)
    lapsed = pop.lapsed_on[persons]
    end = np.where(np.isnat(lapsed), world.today, np.minimum(lapsed, world.today))
    who, stores, moments, euros = _purchases(world, members, start, np.maximum(start, end), rng)
    earned = np.bincount(who, weights=np.clip(euros, 0, None), minlength=len(persons)).astype(np.int64)
    for row, extra in zip(members.rows, earned.tolist(), strict=False):
        points = int(row[9]) + extra
        row[8], row[9] = tier(points), str(points)

    purchase_days = moments.astype("datetime64[D]")
    bounds = np.searchsorted(purchase_days, first_day + np.arange(PURCHASE_DAYS + 1).astype("timedelta64[D]"))
    for d in range(PURCHASE_DAYS):
        lo, hi = bounds[d], bounds[d + 1]
        write_purchases(
            folder,
            members,
            who[lo:hi],
            stores[lo:hi],
            moments[lo:hi],
            euros[lo:hi],
            first_day + np.timedelta64(d, "D"),
            world.seed,
        )
    write_snapshot(folder, members, world.today, world.seed)
    truth = [("loyalty", row[0], people.person_key(p)) for row, p in zip(members.rows, members.persons, strict=False)]
    return members, truth, len(who)


def advance_day(world: World, members: Members, joiners: np.ndarray) -> tuple[list[tuple[str, str, str]], int]:
    """The night after the day that just ended: its purchases, new members, changed consents, a snapshot."""
    rng, r = world.streams("loyalty-day")
    pop = world.pop
    folder = world.out_dir / FOLDER
    ended = world.start.astype("datetime64[D]")
    count = len(members.rows)
    u = rng.random((count, 3))
    for k in np.flatnonzero(u[:, 0] < 0.0005).tolist():
        row = members.rows[k]
        row[10], row[11] = ("E" if row[10] == "K" else "K"), clock.finnish_date(np.array([ended]))[0]
    for k in np.flatnonzero(u[:, 1] < 0.0005).tolist():
        members.rows[k][6] = pop.postcode[members.persons[k]]
    for k in np.flatnonzero(u[:, 2] < 0.0003).tolist():
        one = np.array([members.persons[k]])
        members.rows[k][4] = identity.render_phones(pop, one, world.profile.loyalty, rng)[0]

    first_no = int(members.rows[-1][0]) + 1 if members.rows else FIRST_MEMBER_NO
    fresh = _new_members(world, joiners, np.full(len(joiners), ended), first_no, rng, r, history=False)
    members.rows.extend(fresh.rows)
    members.persons.extend(fresh.persons)
    for p in fresh.persons:
        pop.in_loyalty[p] += 1

    persons = np.array(members.persons, dtype=np.int64)
    active = np.isnat(pop.lapsed_on[persons])
    start = np.full(len(persons), ended)
    who, stores, moments, euros = _purchases(world, members, start, np.where(active, ended + 1, ended), rng)
    earned = np.bincount(who, weights=np.clip(euros, 0, None), minlength=len(persons)).astype(np.int64)
    for k in np.flatnonzero(earned).tolist():
        row = members.rows[k]
        points = int(row[9]) + int(earned[k])
        row[8], row[9] = tier(points), str(points)
    write_purchases(folder, members, who, stores, moments, euros, ended, world.seed)
    write_snapshot(folder, members, world.today, world.seed)
    _redeliver(folder, world, r)
    truth = [("loyalty", row[0], people.person_key(p)) for row, p in zip(fresh.rows, fresh.persons, strict=False)]
    return truth, len(who)


def _redeliver(folder: Path, world: World, r: random.Random) -> None:
    """Now and then the vendor sends an old file again: same name, same bytes, a new mtime."""
    if r.random() >= 0.35:
        return
    names = sorted(p.name for p in folder.glob("*.csv"))
    latest = {member_file(world.today), purchase_file(world.start)}
    candidates = [name for name in names if name not in latest]
    if not candidates:
        return
    path = folder / r.choice(candidates[-20:])
    path.write_bytes(path.read_bytes())
    stamp = int(world.clock.astype(np.int64)) - r.randrange(60, 3600)
    os.utime(path, (stamp, stamp))


def count(members: Members, folder: Path) -> dict[str, int]:
    return {"loyalty_members": len(members.rows), "loyalty_files": sum(1 for _ in folder.glob("*.csv"))}
