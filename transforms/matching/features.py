"""Comparison features that know this domain, as recordlinkage ``Compare`` features.

Every feature gives each pair an agreement level (higher = stronger agreement) or -1 when either
record lacks the field, so that a missing value is no evidence either way. String similarity is
computed for whole arrays at once with rapidfuzz, not pair by pair in Python.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import recordlinkage
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist
from recordlinkage.base import BaseCompareFeature

from transforms.matching.email_names import names_own_first
from transforms.matching.emails import EMAIL_PARTS, with_email_parts
from transforms.matching.levels import LEVELS, MISSING
from transforms.matching.nicknames import SURE_PET_FORM_LETTERS, equivalent
from transforms.matching.owners import shared_by_several
from transforms.matching.settings import Comparisons
from transforms.standardise.addresses import house_number
from transforms.standardise.text import first_word, per_unique


def _text(series: pd.Series) -> list[str]:
    return series.fillna("").astype(str).tolist()


def _similarity(left: pd.Series, right: pd.Series, scorer=JaroWinkler.normalized_similarity) -> np.ndarray:
    return cpdist(_text(left), _text(right), scorer=scorer, workers=1)


def _missing(*series: pd.Series) -> np.ndarray:
    mask = np.zeros(len(series[0]), dtype=bool)
    for s in series:
        mask |= s.isna().to_numpy()
    return mask


def _per_distinct_pair(left: list[str], right: list[str], test) -> np.ndarray:
    """``test(a, b)`` for every pair, evaluated once per distinct (a, b): names repeat a lot."""
    codes, vocabulary = pd.factorize(np.asarray(left + right, dtype=object))
    n = len(left)
    combined = codes[:n].astype(np.int64) * len(vocabulary) + codes[n:]
    distinct, inverse = np.unique(combined, return_inverse=True)
    a_codes, b_codes = np.divmod(distinct, len(vocabulary))
    answers = np.fromiter(
        (test(vocabulary[a], vocabulary[b]) for a, b in zip(a_codes, b_codes, strict=True)), bool, len(distinct)
    )
    return answers[inverse]


def _shares_a_part(a: str, b: str) -> bool:
    return bool(set(a.split()) & set(b.split()))


class Names(BaseCompareFeature):
    """First and last names, aware of names typed into each other's fields.

    First names: exact, a typo away, a nickname of one another (or the same first given name),
    or different. Last names: exact, a typo away, one part of a double-barrelled name shared
    (a married name), or different.
    """

    def __init__(self, cutoffs: Comparisons) -> None:
        fields = ["first_name", "last_name"]
        super().__init__(fields, fields, label=["first_name", "last_name"])
        self.cutoffs = cutoffs

    def _compute_vectorized(self, f1, l1, f2, l2):
        direct_first, direct_last = _similarity(f1, f2), _similarity(l1, l2)
        cut = self.cutoffs
        swap = _similarity(f1, l2) + _similarity(l1, f2) > direct_first + direct_last + cut.swap_margin
        first_other, last_other = f2.mask(swap, l2), l2.mask(swap, f2)
        first_sim = np.where(swap, _similarity(f1, first_other), direct_first)
        last_sim = np.where(swap, _similarity(l1, last_other), direct_last)

        nickname = _per_distinct_pair(_text(f1), _text(first_other), equivalent)
        same_given = _similarity(first_word(f1), first_word(first_other)) == 1.0
        first = np.select(
            [first_sim == 1.0, first_sim >= cut.name_typo, nickname | same_given | (first_sim >= cut.name_close)],
            [3, 2, 1],
            0,
        )
        shared = _per_distinct_pair(_text(l1), _text(last_other), _shares_a_part)
        last = np.select([last_sim == 1.0, last_sim >= cut.name_typo, shared], [3, 2, 1], 0)
        return (
            np.where(_missing(f1, first_other), MISSING, first),
            np.where(_missing(l1, last_other), MISSING, last),
        )


class Email(BaseCompareFeature):
    """Emails: the same address; the same words of the user part in another order, or one letter off,
    at the same provider (``emails``); or different.

    The user part alone ('matti.virtanen' at two providers) is deliberately not a level: people
    build it from their names, so namesakes share it, and it would count the names twice.
    """

    def __init__(self, label: str = "email") -> None:
        columns = ["email", "email_local", *EMAIL_PARTS]
        super().__init__(columns, columns, label=label)

    def _compute_vectorized(self, e1, u1, d1, w1, k1, e2, u2, d2, w2, k2):
        exact = e1.to_numpy() == e2.to_numpy()
        same_provider = (d1.to_numpy() == d2.to_numpy()) & ~exact
        reordered = same_provider & w1.notna().to_numpy() & (w1.to_numpy() == w2.to_numpy())
        distance = cpdist(_text(u1), _text(u2), scorer=OSA.distance, workers=1)
        slip = same_provider & (distance == 1) & (k1.to_numpy() == k2.to_numpy())
        level = np.select([exact, reordered, slip], [3, 2, 1], 0)
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
    """Street, number and postal code as one piece of evidence: households share all three.

    Two addresses on one street are one building only when their street names are alike and their house
    numbers agree, or one of them gives no number (a unit left out is not a second home): namesakes and kin
    live a few doors apart, and the whole line alone would call their addresses a typo of each other. The
    names are judged as the coherence rules judge homes; the whole line only where a street has no name
    before its number. A shared postal code is two kinds of evidence: with a street missing on one side it
    is all that is known, with two streets known it says they live apart.
    """

    def __init__(self, cutoffs: Comparisons, label: str = "address") -> None:
        super().__init__(
            ["street", "street_name", "postal_code"], ["street", "street_name", "postal_code"], label=label
        )
        self.street_typo = cutoffs.street_typo

    def _compute_vectorized(self, s1, n1, p1, s2, n2, p2):
        same_postcode = p1.to_numpy() == p2.to_numpy()
        postcode_known = p1.notna().to_numpy() & p2.notna().to_numpy()
        street_known = s1.notna().to_numpy() & s2.notna().to_numpy()
        compatible = same_postcode | ~postcode_known
        h1, h2 = per_unique(s1, house_number), per_unique(s2, house_number)
        numbers_agree = (h1.to_numpy() == h2.to_numpy()) | h1.isna().to_numpy() | h2.isna().to_numpy()
        named = (n1.fillna("").to_numpy() != "") & (n2.fillna("").to_numpy() != "")
        alike = np.where(named, _similarity(n1, n2), _similarity(s1, s2)) >= self.street_typo
        exact = street_known & (s1.to_numpy() == s2.to_numpy()) & compatible
        building = street_known & alike & numbers_agree & compatible
        same_area = same_postcode & postcode_known
        level = np.select([exact, building, same_area & ~street_known, same_area], [4, 3, 2, 1], 0)
        nothing = ~(street_known | postcode_known)
        return np.where(nothing, MISSING, level)


def comparator(cutoffs: Comparisons) -> recordlinkage.Compare:
    return recordlinkage.Compare([Names(cutoffs), Email(), Phone(), Birth(), Address(cutoffs)])


CONTACT_FEATURES = ("email", "phone", "address")
CHUNK_PAIRS = 500_000  # pairs compared at a time: bounds memory whatever the number of candidates


def compare(records: pd.DataFrame, pairs: np.ndarray, cutoffs: Comparisons, gate_contacts: bool = True) -> pd.DataFrame:
    """Agreement levels (int8) of every pair; columns in ``LEVELS`` order.

    ``gate_contacts=False`` leaves out ``_in_context``, for measuring how often strangers share
    contact data.
    """
    if len(pairs) == 0:
        return pd.DataFrame({name: pd.Series(dtype=np.int8) for name in LEVELS})
    comparer = comparator(cutoffs)
    compared = with_email_parts(records.iloc[np.unique(pairs)])  # an incremental run's pairs hold few records
    chunks = [
        comparer.compute(pd.MultiIndex.from_arrays([chunk[:, 0], chunk[:, 1]]), compared)[list(LEVELS)].astype(np.int8)
        for chunk in np.array_split(pairs, max(1, -(-len(pairs) // CHUNK_PAIRS)))
    ]
    levels = pd.concat(chunks, ignore_index=True)
    return _in_context(levels, records, pairs, cutoffs) if gate_contacts else levels


def _top(feature: str) -> int:
    return len(LEVELS[feature]) - 1


def _in_context(levels: pd.DataFrame, records: pd.DataFrame, pairs: np.ndarray, cutoffs: Comparisons) -> pd.DataFrame:
    """What a feature proves depends on the others; where it proves nothing it counts as missing.

    Between records whose first names differ, or a nameless one whose email names another family
    (``email_names``), a shared email, phone or address is what a family has, not proof of one person.
    So is an email or phone that several people use (``owners``) between records without names, or
    with first names only close to each other (siblings named alike). A last name that differs
    between records with the same first name and an email or phone of their own is a name replaced
    at marriage: no evidence against. First names only close to each other, each named by its own
    record's email, are two people's: different (``_first_names_each_in_own_email``). A nameless
    record's email that is a household's says nothing about which member it is.
    """
    levels.loc[_first_names_each_in_own_email(records, pairs, levels["first_name"].to_numpy()), "first_name"] = 0
    levels.loc[_a_households_email(records, pairs), "email"] = MISSING
    first, last = levels["first_name"].to_numpy(), levels["last_name"].to_numpy()
    another_family = (first == 0) | _other_family_in_email(records, pairs)
    for feature in CONTACT_FEATURES:
        levels.loc[another_family, feature] = MISSING
    unsure_who = (first == 1) | ((first == MISSING) & (last == MISSING))
    shared = {f: s[pairs[:, 0]] | s[pairs[:, 1]] for f, s in shared_by_several(records, cutoffs).items()}
    for feature, several in shared.items():
        levels.loc[unsure_who & several, feature] = MISSING
    own_contact = ((levels["email"].to_numpy() == _top("email")) & ~shared["email"]) | (
        (levels["phone"].to_numpy() == _top("phone")) & ~shared["phone"]
    )
    levels.loc[(first == _top("first_name")) & (last == 0) & own_contact, "last_name"] = MISSING
    return levels


def _a_households_email(records: pd.DataFrame, pairs: np.ndarray) -> np.ndarray:
    """Pairs with a nameless record whose email is a household's (``email_names``: 'perhe.alanen', 'tuula.ja.niilo'):
    the same address on the other record says the account is the household's, not whose in it."""
    if "email_household" not in records:
        return np.zeros(len(pairs), dtype=bool)
    household = records["email_household"].to_numpy(bool)
    return household[pairs[:, 0]] | household[pairs[:, 1]]


def _first_names_each_in_own_email(records: pd.DataFrame, pairs: np.ndarray, first_level: np.ndarray) -> np.ndarray:
    """Pairs whose first names are only close ('Hanna' and 'Hannu', 'Marja' and 'Markus') while each record's
    email names its own first name: each name is confirmed by the address its owner chose, so they are two
    people's names, not one typed two ways. Siblings and spouses named alike share a home, a phone, a surname;
    this keeps those from joining them. Names of one person are left alone: the listed nicknames and pet
    forms sharing four letters ('Jukkis', 'Jukka'), and a name typed into the other's last-name field."""
    out = np.zeros(len(pairs), dtype=bool)
    close = np.flatnonzero(first_level == 1)
    if not len(close):
        return out
    firsts, lasts, locals_ = (records[c].to_numpy(object) for c in ("first_name", "last_name", "email_local"))
    for k in close:
        i, j = pairs[k]
        if not (isinstance(firsts[i], str) and isinstance(firsts[j], str)):
            continue  # close to a name in the other's last-name field
        a, b = firsts[i].split(" ")[0], firsts[j].split(" ")[0]
        swapped = (isinstance(lasts[j], str) and a in lasts[j].split()) or (
            isinstance(lasts[i], str) and b in lasts[i].split()
        )
        out[k] = (
            not swapped
            and not equivalent(a, b, SURE_PET_FORM_LETTERS)
            and names_own_first(a, lasts[i], locals_[i])
            and names_own_first(b, lasts[j], locals_[j])
        )
    return out


def _other_family_in_email(records: pd.DataFrame, pairs: np.ndarray) -> np.ndarray:
    """Pairs where one record is nameless and its email gives a family name the other's last name does not hold."""
    if "email_family" not in records:
        return np.zeros(len(pairs), dtype=bool)
    family, last = records["email_family"].to_numpy(object), records["last_name"].to_numpy(object)
    out = np.zeros(len(pairs), dtype=bool)
    for mine, other in ((pairs[:, 0], pairs[:, 1]), (pairs[:, 1], pairs[:, 0])):
        known = pd.notna(family[mine]) & pd.notna(last[other])
        if known.any():
            out[known] |= ~_per_distinct_pair(
                _text(pd.Series(family[mine][known])), _text(pd.Series(last[other][known])), _shares_a_part
            )
    return out
