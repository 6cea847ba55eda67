"""Whether two groups of records can be one person, judged on what tells people apart.

Scoring looks at one pair at a time, and only at pairs blocking proposed. A cluster grown from
strong pairs can still hold two people when one weak pair (a family email, a nickname that is
another name, a record without names that shares a household's phone) joins their groups: each
record is like its neighbour, but not like the records at the far end. So before two clusters
join, every record of one is held against every record of the other on what one person cannot
have two of:

- a birth date: full dates (or days and months) that differ, other than by day and month swapped;
- a whole name: neither the first names, nor the last names, nor the two read crosswise are alike;
- a first name written one way by two or more records of one side and another way by two or more
  of the other: a one-off nickname or typo is not a second person, a name systems agree on is;
- a phone: no phone of one side is like any of the other's (one digit off is a typo), unless a
  birth date is shared. This is also what tells the owners of one email apart: namesakes, or a
  family, who give one address but each their own phone;
- a postal code: no postal code of one side is any of the other's, and neither a phone nor a birth
  date is shared. A person who moved keeps a phone or a birth date in common with the old address;
  a namesake who was given the other's email (a clerk's slip, a family's address) does not;
- a home: no street address of one side is the other's building (the same postal code, a street alike,
  the same house number), and neither a phone nor a birth date is shared. The postal-code rule one step
  finer: namesakes and kin live a few doors apart in one postal code.

A cluster keeps the distinct values it holds, and each distinct pair of values is judged once, so
the work grows with the distinct values of the two sides, not with every record pair of the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz.distance import JaroWinkler, Levenshtein

from transforms.matching.email_names import with_names_from_email
from transforms.matching.nicknames import equivalent
from transforms.matching.settings import Comparisons
from transforms.standardise.addresses import house_number
from transforms.standardise.text import first_word, per_unique

# The standardised columns the judgement reads.
COHERENCE_COLUMNS = (
    "first_name",
    "last_name",
    "email_local",
    "phone",
    "birth_date",
    "birth_month_day",
    "postal_code",
    "street",
    "street_name",
)


def _codes(values: pd.Series) -> tuple[np.ndarray, list]:
    codes, uniques = pd.factorize(values.reset_index(drop=True), use_na_sentinel=True)
    return codes.astype(np.int64), list(uniques)


def _tuples(*columns: pd.Series, known: pd.Series) -> pd.Series:
    frame = pd.DataFrame({i: c.fillna("").to_numpy() for i, c in enumerate(columns)})
    values = pd.Series(list(frame.itertuples(index=False, name=None)), index=known.index, dtype=object)
    return values.where(known.to_numpy())


def homes(records: pd.DataFrame) -> pd.Series:
    """Each record's home as (postal code, street name, house number), missing where any of them is unknown:
    what the home rule holds two clusters' records against (a flat left out is the same home)."""
    names, postal_code = records["street_name"], records["postal_code"]
    number = per_unique(records["street"], house_number)
    return _tuples(postal_code, names, number, known=number.notna() & postal_code.notna() & names.fillna("").ne(""))


@dataclass
class Profile:
    """The distinct values one cluster holds (as codes), and how many of its records give each first name."""

    names: set[int]
    births: set[int]
    phones: set[int]
    postals: set[int]
    homes: set[int]
    firsts: dict[int, int]

    def absorb(self, other: Profile) -> None:
        self.names |= other.names
        self.births |= other.births
        self.phones |= other.phones
        self.postals |= other.postals
        self.homes |= other.homes
        for first, count in other.firsts.items():
            self.firsts[first] = self.firsts.get(first, 0) + count


class Identities:
    """Per record, codes of the attributes that tell people apart, and judgements of pairs of values."""

    def __init__(self, records: pd.DataFrame, cutoffs: Comparisons) -> None:
        records = with_names_from_email(records)
        first, last = records["first_name"], records["last_name"]
        self.cutoffs = cutoffs
        name, self.names = _codes(_tuples(first, last, known=first.notna() & last.notna()))
        first_code, self.firsts = _codes(first_word(first))
        date = records["birth_date"].dt.strftime("%Y-%m-%d")
        md = records["birth_month_day"]
        birth, self.births = _codes(_tuples(date, md, known=md.notna()))
        phone, self.phones = _codes(records["phone"])
        postal, _ = _codes(records["postal_code"])
        home, self.homes = _codes(homes(records))
        codes = (name, birth, phone, postal, home, first_code)
        self._per_record = list(zip(*(c.tolist() for c in codes), strict=True))  # lists index fast, arrays slowly
        self._judged: dict[tuple[str, int, int], bool] = {}

    def profile(self, record: int) -> Profile:
        name, birth, phone, postal, home, first = self._per_record[record]
        return Profile(
            {name} if name >= 0 else set(),
            {birth} if birth >= 0 else set(),
            {phone} if phone >= 0 else set(),
            {postal} if postal >= 0 else set(),
            {home} if home >= 0 else set(),
            {first: 1} if first >= 0 else {},
        )

    def conflict(self, a: Profile, b: Profile) -> bool:
        """True when the records of ``a`` and ``b`` cannot all be one person."""
        return (
            self._any("birth", a.births, b.births, self._births_differ)
            or self._any("name", a.names, b.names, self._names_differ)
            or self._phones_differ_throughout(a, b)
            or self._postal_codes_differ_throughout(a, b)
            or self._homes_differ_throughout(a, b)
            or self._consistent_firsts_differ(a, b)
        )

    def _any(self, kind: str, left: set[int], right: set[int], differ) -> bool:
        for x in left:
            for y in right:
                if x == y:
                    continue
                key = (kind, min(x, y), max(x, y))
                answer = self._judged.get(key)
                if answer is None:
                    answer = self._judged[key] = differ(x, y)
                if answer:
                    return True
        return False

    def _consistent_firsts_differ(self, a: Profile, b: Profile) -> bool:
        if len(a.firsts) != 1 or len(b.firsts) != 1:
            return False
        (fa, na), (fb, nb) = next(iter(a.firsts.items())), next(iter(b.firsts.items()))
        return na >= 2 and nb >= 2 and self._any("first", {fa}, {fb}, self._firsts_differ)

    def _phones_differ_throughout(self, a: Profile, b: Profile) -> bool:
        """No phone of one side like any of the other's, and no birth date in common to outweigh it."""
        if not (a.phones and b.phones) or not a.births.isdisjoint(b.births):
            return False
        return self._all("phone", a.phones, b.phones, self._phones_differ)

    @staticmethod
    def _postal_codes_differ_throughout(a: Profile, b: Profile) -> bool:
        """No postal code in common, and no phone or birth date in common to outweigh it."""
        if not (a.postals and b.postals) or not a.postals.isdisjoint(b.postals):
            return False
        return a.phones.isdisjoint(b.phones) and a.births.isdisjoint(b.births)

    def _homes_differ_throughout(self, a: Profile, b: Profile) -> bool:
        """No street address of one side in the other's building, and no phone or birth date in common."""
        if not (a.homes and b.homes) or not (a.phones.isdisjoint(b.phones) and a.births.isdisjoint(b.births)):
            return False
        return self._all("home", a.homes, b.homes, self._homes_differ)

    def _all(self, kind: str, left: set[int], right: set[int], differ) -> bool:
        return left.isdisjoint(right) and not any(not self._any(kind, {x}, {y}, differ) for x in left for y in right)

    def _births_differ(self, x: int, y: int) -> bool:
        (d1, md1), (d2, md2) = self.births[x], self.births[y]
        swapped = md1 == f"{md2[3:]}-{md2[:2]}"
        if d1 and d2:
            return d1 != d2 and not (d1[:4] == d2[:4] and swapped)
        return md1 != md2 and not swapped

    def _names_differ(self, x: int, y: int) -> bool:
        (f1, l1), (f2, l2) = self.names[x], self.names[y]
        crosswise = self._last_alike(f1, l2) and self._last_alike(l1, f2)
        return not (self._first_alike(f1, f2) or self._last_alike(l1, l2) or crosswise)

    def _firsts_differ(self, x: int, y: int) -> bool:
        return JaroWinkler.normalized_similarity(self.firsts[x], self.firsts[y]) < self.cutoffs.name_typo

    def _homes_differ(self, x: int, y: int) -> bool:
        (postal1, street1, number1), (postal2, street2, number2) = self.homes[x], self.homes[y]
        alike = JaroWinkler.normalized_similarity(street1, street2) >= self.cutoffs.street_typo
        return postal1 != postal2 or number1 != number2 or not alike

    def _phones_differ(self, x: int, y: int) -> bool:
        return Levenshtein.distance(self.phones[x], self.phones[y]) > 1

    def _first_alike(self, f1: str, f2: str) -> bool:
        g1, g2 = f1.split(" ")[0], f2.split(" ")[0]
        similar = JaroWinkler.normalized_similarity(f1, f2) >= self.cutoffs.name_close
        return g1 == g2 or similar or equivalent(g1, g2)

    def _last_alike(self, l1: str, l2: str) -> bool:
        shared = bool(set(l1.split()) & set(l2.split()))
        return shared or JaroWinkler.normalized_similarity(l1, l2) >= self.cutoffs.name_typo
