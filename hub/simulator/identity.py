"""How one system records a person's identity: the same person, typed by someone else.

A system's `Sloppiness` holds how often each of its own kinds of variation happens, and the world's
`Profile` the slips made in every system (double typos, mistyped and reordered emails, a namesake's
address). The render functions turn a batch of persons into that system's columns. Every decision
is drawn for the whole batch with numpy; the per-record Python work touches only the few records
that vary.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from hub.simulator import noise, wordlists
from hub.simulator.namebook import NICKNAMES
from hub.simulator.people import Population
from hub.simulator.profiles import Profile, Sloppiness

NO_MOMENT = np.datetime64("NaT", "s")


@dataclass
class Addresses:
    """Address columns of a batch of records; `learned_at` is when a move reached the record."""

    street: list[str]  # 'Hämeenkatu 12' (street and house number)
    unit: list[str]  # 'B 7', '' when none
    postcode: list[str]
    city: list[str]
    learned_at: np.ndarray  # datetime64[s], NaT when the record never took in a move

    def line(self, i: int) -> str:
        """Street, number and unit in one line, as most forms store it."""
        return f"{self.street[i]} {self.unit[i]}" if self.unit[i] else self.street[i]


def _chosen(rng: np.random.Generator, count: int, probability: float) -> list[int]:
    if probability <= 0:
        return []
    return np.flatnonzero(rng.random(count) < probability).tolist()


def render_names(
    pop: Population,
    idx: np.ndarray,
    habits: Sloppiness,
    profile: Profile,
    rng: np.random.Generator,
    r: random.Random,
) -> tuple[list[str], list[str]]:
    """First and last name fields for the persons `idx`."""
    count = len(idx)
    people = idx.tolist()
    firsts = [pop.first[p] for p in people]
    lasts = [pop.last[p] for p in people]
    renamed = [k for k, p in enumerate(people) if pop.maiden[p]]
    draw = rng.random(len(renamed))
    for k, u in zip(renamed, draw.tolist(), strict=False):
        maiden = pop.maiden[people[k]]
        if u < habits.maiden_name:
            lasts[k] = maiden
        elif u < habits.maiden_name + habits.double_name and "-" not in lasts[k]:
            lasts[k] = f"{maiden}-{lasts[k]}"
    for k in _chosen(rng, count, habits.full_given_names):
        middle = pop.middle[people[k]]
        if middle:
            firsts[k] = f"{firsts[k]} {middle}"
    for k in _chosen(rng, count, habits.nickname):
        short = NICKNAMES.get(firsts[k])
        if short:
            firsts[k] = r.choice(short)
    for k in _chosen(rng, count, habits.typo):
        firsts[k] = noise.typo(firsts[k], r)
    for k in _chosen(rng, count, habits.typo):
        lasts[k] = noise.typo(lasts[k], r)
    for k in _chosen(rng, count, profile.double_typo):
        firsts[k], lasts[k] = noise.typo(firsts[k], r), noise.typo(lasts[k], r)
    for k in _chosen(rng, count, habits.no_umlauts):
        firsts[k] = noise.strip_umlauts(firsts[k])
        lasts[k] = noise.strip_umlauts(lasts[k])
    for k in _chosen(rng, count, habits.mojibake):
        lasts[k] = noise.mojibake(lasts[k])
    for k in _chosen(rng, count, habits.lower_case):
        firsts[k] = firsts[k].lower()
        lasts[k] = lasts[k].lower()
    for k in _chosen(rng, count, habits.upper_case):
        firsts[k] = firsts[k].upper()
        lasts[k] = lasts[k].upper()
    for k in _chosen(rng, count, habits.swapped_names):
        firsts[k], lasts[k] = lasts[k], firsts[k]
    for k in _chosen(rng, count, profile.swapped_typo):
        if r.random() < 0.5:
            firsts[k], lasts[k] = noise.typo(lasts[k], r), firsts[k]
        else:
            firsts[k], lasts[k] = lasts[k], noise.typo(firsts[k], r)
    return firsts, lasts


def render_phones(pop: Population, idx: np.ndarray, habits: Sloppiness, rng: np.random.Generator) -> list[str]:
    """Phone fields ('' when unknown) in the formats this system's users type."""
    count = len(idx)
    styles = rng.choice(noise.PHONE_STYLES, size=count, p=np.array(habits.phone_styles) / sum(habits.phone_styles))
    missing = rng.random(count) < habits.phone_missing
    return [
        "" if miss or not pop.phone[p] else noise.format_phone(pop.phone[p], style)
        for p, style, miss in zip(idx.tolist(), styles.tolist(), missing.tolist(), strict=False)
    ]


def render_emails(
    pop: Population,
    idx: np.ndarray,
    habits: Sloppiness,
    profile: Profile,
    rng: np.random.Generator,
    r: random.Random,
) -> list[str]:
    """Email fields ('' when unknown): personal, second, family or a namesake's address, now and then mistyped."""
    count = len(idx)
    u = rng.random((count, 4))
    out = []
    for p, u_missing, u_alt, u_family, u_namesake in zip(
        idx.tolist(), *(u[:, k].tolist() for k in range(4)), strict=False
    ):
        namesake = int(pop.namesake[p])
        if u_missing < habits.email_missing:
            out.append("")
        elif namesake >= 0 and u_namesake < profile.namesake_email and pop.email[namesake]:
            out.append(pop.email[namesake])
        elif pop.email_family[p] and u_family < habits.email_family:
            out.append(pop.email_family[p])
        elif pop.email_alt[p] and (u_alt < habits.email_alt or not pop.email[p]):
            out.append(pop.email_alt[p])
        else:
            out.append(pop.email[p])
    for k in _chosen(rng, count, habits.email_domain_typo):
        local, _, domain = out[k].partition("@")
        if domain in wordlists.EMAIL_DOMAIN_TYPOS:
            out[k] = f"{local}@{wordlists.EMAIL_DOMAIN_TYPOS[domain]}"
    for k in _chosen(rng, count, profile.email_typo):
        if out[k]:
            local, _, domain = out[k].partition("@")
            out[k] = f"{noise.typo(local, r)}@{domain}"
    for k in _chosen(rng, count, profile.email_reordered):
        local, _, domain = out[k].partition("@")
        out[k] = f"{noise.reorder_user(local)}@{domain}" if domain else out[k]
    return out


def render_addresses(
    pop: Population,
    idx: np.ndarray,
    created: np.ndarray,
    habits: Sloppiness,
    rng: np.random.Generator,
    r: random.Random,
    clock: np.datetime64,
) -> Addresses:
    """Address columns for records made at `created`.

    A record made before its person moved keeps the old address with probability
    `stale_address` (or when the news has not reached it by `clock`); otherwise it took in the
    move some weeks after it (`learned_at`).
    """
    count = len(idx)
    people = idx.tolist()
    moved_on = pop.moved_on[idx].astype("datetime64[s]")
    before_move = ~np.isnat(moved_on) & (created < moved_on)
    u = rng.random((count, 3))
    learned = moved_on + (u[:, 1] * 60 * 86400).astype("timedelta64[s]")
    stale = before_move & ((u[:, 0] < habits.stale_address) | (learned >= clock))
    learned_at = np.where(before_move & ~stale, learned, NO_MOMENT)
    streets: list[str] = []
    units: list[str] = []
    postcodes: list[str] = []
    city_names: list[str] = []
    for p, old in zip(people, stale.tolist(), strict=False):
        if old:
            streets.append(f"{pop.prev_street[p]} {pop.prev_number[p]}")
            units.append(pop.prev_unit[p])
            postcodes.append(pop.prev_postcode[p])
            city_names.append(pop.prev_city[p])
        else:
            streets.append(f"{pop.street[p]} {pop.number[p]}")
            units.append(pop.unit[p])
            postcodes.append(pop.postcode[p])
            city_names.append(pop.city[p])
    for k in _chosen(rng, count, habits.street_abbreviated):
        name, _, number = streets[k].rpartition(" ")
        streets[k] = f"{noise.abbreviate_street(name)} {number}"
    for k in _chosen(rng, count, habits.street_typo):
        streets[k] = noise.typo(streets[k], r)
    for k in _chosen(rng, count, habits.no_umlauts):
        streets[k] = noise.strip_umlauts(streets[k])
        city_names[k] = noise.strip_umlauts(city_names[k])
    for k in _chosen(rng, count, habits.mojibake):
        streets[k] = noise.mojibake(streets[k])
    styles = rng.choice(noise.UNIT_STYLES, size=count, p=np.array(habits.unit_styles) / sum(habits.unit_styles))
    units = [noise.format_unit(unit, style) for unit, style in zip(units, styles.tolist(), strict=False)]
    for k in _chosen(rng, count, habits.city_upper):
        city_names[k] = city_names[k].upper()
    for k in _chosen(rng, count, habits.city_lower):
        city_names[k] = city_names[k].lower()
    for k in _chosen(rng, count, habits.city_swedish):
        city_names[k] = wordlists.SWEDISH_CITY_NAMES.get(city_names[k], city_names[k])
    for k in _chosen(rng, count, habits.postcode_typo):
        postcodes[k] = noise.mistype_postcode(postcodes[k], r)
    for k in _chosen(rng, count, habits.address_missing):
        streets[k] = units[k] = postcodes[k] = city_names[k] = ""
    return Addresses(streets, units, postcodes, city_names, learned_at)


def render_births(pop: Population, idx: np.ndarray, habits: Sloppiness, rng: np.random.Generator) -> np.ndarray:
    """Birth dates (datetime64[D], NaT when unknown), now and then with day and month swapped."""
    count = len(idx)
    births = pop.birth[idx].copy()
    births[rng.random(count) < habits.birth_missing] = np.datetime64("NaT", "D")
    for k in _chosen(rng, count, habits.birth_swapped):
        if np.isnat(births[k]):
            continue
        swapped = noise.swap_day_and_month(births[k].astype(object))
        if swapped is not None:
            births[k] = np.datetime64(swapped, "D")
    return births
