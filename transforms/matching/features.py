"""Comparison features that know this domain, as recordlinkage ``Compare`` features.

Every feature gives each pair an agreement level (higher = stronger agreement) or -1 when either
record lacks the field, so that a missing value is no evidence either way. String similarity is
computed for whole arrays at once with rapidfuzz, not pair by pair in Python.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import recordlinkage
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist
from recordlinkage.base import BaseCompareFeature

from transforms.matching.nicknames import equivalent

MISSING = -1

# Level names, lowest agreement first: they label explanations and the review screen.
LEVELS: dict[str, tuple[str, ...]] = {
    "first_name": ("different", "nickname or close", "typo", "exact"),
    "last_name": ("different", "one part shared", "typo", "exact"),
    "email": ("different", "exact"),
    "phone": ("different", "one digit off", "exact"),
    "birth": ("different", "day and month swapped", "same day and month", "exact"),
    "address": ("different", "same postal code", "same street", "exact"),
}


def _text(series: pd.Series) -> list[str]:
    return series.fillna("").astype(str).tolist()


def _similarity(left: pd.Series, right: pd.Series, scorer=JaroWinkler.normalized_similarity) -> np.ndarray:
    return cpdist(_text(left), _text(right), scorer=scorer, workers=1)


def _missing(*series: pd.Series) -> np.ndarray:
    mask = np.zeros(len(series[0]), dtype=bool)
    for s in series:
        mask |= s.isna().to_numpy()
    return mask


def _orientation(f1: pd.Series, l1: pd.Series, f2: pd.Series, l2: pd.Series) -> np.ndarray:
    """True where first and last name were typed the wrong way round in one of the records."""
    direct = _similarity(f1, f2) + _similarity(l1, l2)
    swapped = _similarity(f1, l2) + _similarity(l1, f2)
    return swapped > direct + 0.2


class FirstName(BaseCompareFeature):
    """First names: exact, a typo away, a nickname of one another, or different (swap-aware)."""

    def __init__(self, label: str = "first_name") -> None:
        super().__init__(["first_name", "last_name"], ["first_name", "last_name"], label=label)

    def _compute_vectorized(self, f1, l1, f2, l2):
        swap = _orientation(f1, l1, f2, l2)
        other = f2.mask(swap, l2)
        similarity = _similarity(f1, other)
        nick = np.fromiter((equivalent(a, b) for a, b in zip(_text(f1), _text(other), strict=True)), bool, len(f1))
        first_word = _similarity(f1.str.split(" ").str[0], other.str.split(" ").str[0])
        level = np.select(
            [similarity == 1.0, similarity >= 0.93, nick | (first_word == 1.0) | (similarity >= 0.88)],
            [3, 2, 1],
            0,
        )
        return np.where(_missing(f1, other), MISSING, level)


class LastName(BaseCompareFeature):
    """Last names: exact, a typo away, one part of a double-barrelled name shared, or different."""

    def __init__(self, label: str = "last_name") -> None:
        super().__init__(["first_name", "last_name"], ["first_name", "last_name"], label=label)

    def _compute_vectorized(self, f1, l1, f2, l2):
        swap = _orientation(f1, l1, f2, l2)
        other = l2.mask(swap, f2)
        similarity = _similarity(l1, other)
        shared = np.fromiter(
            (bool(set(a.split()) & set(b.split())) for a, b in zip(_text(l1), _text(other), strict=True)),
            bool,
            len(l1),
        )
        level = np.select([similarity == 1.0, similarity >= 0.93, shared], [3, 2, 1], 0)
        return np.where(_missing(l1, other), MISSING, level)


class Email(BaseCompareFeature):
    """Emails: the same address or not.

    The user part alone ('matti.virtanen' at two providers) is deliberately not a level: people
    build it from their names, so namesakes share it, and it would count the names twice.
    """

    def __init__(self, label: str = "email") -> None:
        super().__init__("email", "email", label=label)

    def _compute_vectorized(self, e1, e2):
        level = (e1.to_numpy() == e2.to_numpy()).astype(np.int8)
        return np.where(_missing(e1, e2), MISSING, level)


class Phone(BaseCompareFeature):
    def __init__(self, label: str = "phone") -> None:
        super().__init__("phone", "phone", label=label)

    def _compute_vectorized(self, p1, p2):
        distance = cpdist(_text(p1), _text(p2), scorer=Levenshtein.distance, workers=1)
        level = np.select([distance == 0, distance == 1], [2, 1], 0)
        return np.where(_missing(p1, p2), MISSING, level)


class Birth(BaseCompareFeature):
    """Birth dates; the email platform knows only day and month, which is weaker evidence."""

    def __init__(self, label: str = "birth") -> None:
        super().__init__(["birth_date", "birth_month_day"], ["birth_date", "birth_month_day"], label=label)

    def _compute_vectorized(self, d1, md1, d2, md2):
        both_full = d1.notna().to_numpy() & d2.notna().to_numpy()
        exact = both_full & (d1.to_numpy() == d2.to_numpy())
        same_md = md1.to_numpy() == md2.to_numpy()
        swapped_md = md1.str[3:5].str.cat(md1.str[0:2], sep="-").to_numpy() == md2.to_numpy()
        same_year = d1.dt.year.to_numpy() == d2.dt.year.to_numpy()
        swapped = swapped_md & (~both_full | same_year)
        level = np.select([exact, same_md & ~both_full, swapped], [3, 2, 1], 0)
        return np.where(_missing(md1, md2), MISSING, level)


class Address(BaseCompareFeature):
    """Street, number and postal code as one piece of evidence: households share all three."""

    def __init__(self, label: str = "address") -> None:
        super().__init__(
            ["street", "street_name", "postal_code"], ["street", "street_name", "postal_code"], label=label
        )

    def _compute_vectorized(self, s1, n1, p1, s2, n2, p2):
        same_postcode = p1.to_numpy() == p2.to_numpy()
        postcode_known = p1.notna().to_numpy() & p2.notna().to_numpy()
        street = _similarity(s1, s2)
        street_known = s1.notna().to_numpy() & s2.notna().to_numpy()
        compatible = same_postcode | ~postcode_known
        exact = street_known & (street == 1.0) & compatible
        close = street_known & (street >= 0.93) & compatible
        level = np.select([exact, close, same_postcode & postcode_known], [3, 2, 1], 0)
        nothing = ~(street_known | postcode_known)
        return np.where(nothing, MISSING, level)


def comparator() -> recordlinkage.Compare:
    return recordlinkage.Compare([FirstName(), LastName(), Email(), Phone(), Birth(), Address()])


CONTACT_FEATURES = ("email", "phone", "address")


def compare(records: pd.DataFrame, pairs: np.ndarray, gate_contacts: bool = True) -> pd.DataFrame:
    """Agreement levels (int8) of every pair; columns in ``LEVELS`` order.

    Between records whose first names differ, a shared email, phone or address is what a family
    has, not proof of one person: there those features count as missing, neither for nor against.
    ``gate_contacts=False`` keeps them, for measuring how often strangers share contact data.
    """
    if len(pairs) == 0:
        return pd.DataFrame({name: pd.Series(dtype=np.int8) for name in LEVELS})
    index = pd.MultiIndex.from_arrays([pairs[:, 0], pairs[:, 1]])
    levels = comparator().compute(index, records)[list(LEVELS)].astype(np.int8).reset_index(drop=True)
    different_people = (levels["first_name"].to_numpy() == 0) & gate_contacts
    for feature in CONTACT_FEATURES:
        levels.loc[different_people, feature] = MISSING
    return levels
