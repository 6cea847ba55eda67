"""Habits of households and namesakes that make the records of different people agree.

Why: the false merges a real customer base provokes come from people who look alike on paper:
siblings and spouses with similar names at one address (and one phone), relatives of one surname
and namesakes living on the same street. `people.generate_population` draws the persons; these
functions then give a share of them (set by the world's `Profile`) those habits. Each works on the
population's columns in place and loops only over the few persons it changes.
"""

from __future__ import annotations

import random

import numpy as np

from hub.simulator import namebook


def give_similar_names(
    first: list[str],
    sex: np.ndarray,
    sibling: np.ndarray,
    birth: np.ndarray,
    starts: np.ndarray,
    sizes: np.ndarray,
    share: float,
    twins: float,
    rng: np.random.Generator,
    r: random.Random,
) -> None:
    """In `share` of households of two or more, the last member gets a name like the one before them.

    Spouses become Hannu and Hanna, siblings Mikko and Mika or Marja and Maarit, wherever such a
    name exists; a share `twins` of the similar-named siblings (`sibling`: an adult child of the head)
    share a birthday.
    """
    multi = np.flatnonzero(sizes >= 2)
    chosen = multi[rng.random(len(multi)) < share]
    u_twins = rng.random(len(chosen))
    for h, u in zip(chosen.tolist(), u_twins.tolist(), strict=True):
        last_member = int(starts[h] + sizes[h] - 1)
        before = last_member - 1
        options = namebook.similar_names(first[before], bool(sex[last_member]))
        if not options:
            continue
        first[last_member] = r.choice(options)
        if sibling[before] and sibling[last_member] and u < twins:
            birth[last_member] = birth[before]


def _rings(keys: list[str], household: np.ndarray) -> np.ndarray:
    """For each position, another one of the same key in another household (-1 if none).

    Positions of one key point at each other in a ring, so every one of them has a partner.
    """
    _, group, counts = np.unique(np.array(keys), return_inverse=True, return_counts=True)
    out = np.full(len(keys), -1, dtype=np.int64)
    shared = np.flatnonzero(counts[group] >= 2)
    ordered = shared[np.argsort(group[shared], kind="stable")]
    bounds = np.flatnonzero(np.diff(group[ordered])) + 1
    for members in np.split(ordered, bounds):
        ring = members.tolist()
        for k, person in enumerate(ring):
            for step in range(1, len(ring)):
                other = ring[(k + step) % len(ring)]
                if household[other] != household[person]:
                    out[person] = other
                    break
    return out


def find_namesakes(first: list[str], last: list[str], household: np.ndarray) -> np.ndarray:
    """For each person, another person of the same first and last name in another household (-1 if none)."""
    return _rings([f"{f}|{s}" for f, s in zip(first, last, strict=True)], household)


def find_kin(head_last: list[str]) -> np.ndarray:
    """For each household, another household whose head bears the same surname (-1 if none)."""
    return _rings(head_last, np.arange(len(head_last)))


def move_together(home: tuple[list[str], ...], mover: np.ndarray, stay: np.ndarray, settled: set[int]) -> None:
    """Household `mover[k]` moves to the street of household `stay[k]`, for each k in order.

    `home` holds each household's (street, number, unit, postcode, city); a mover takes the street,
    postcode and city and keeps its own number and flat. Households in `settled` (updated) took or
    gave a street already and stay where they are, so the pairs made stay together.
    """
    for m, s in zip(mover.tolist(), stay.tolist(), strict=True):
        if m in settled:
            continue
        for column in (0, 3, 4):
            home[column][m] = home[column][s]
        settled.update((m, s))


def share_household_phones(
    phone: list[str],
    starts: np.ndarray,
    sizes: np.ndarray,
    household: np.ndarray,
    share: float,
    rng: np.random.Generator,
) -> None:
    """In `share` of households of two or more, every member gives the head's phone number."""
    shared = (sizes >= 2) & (rng.random(len(sizes)) < share)
    for person in np.flatnonzero(shared[household]).tolist():
        head_phone = phone[int(starts[household[person]])]
        if head_phone:
            phone[person] = head_phone
