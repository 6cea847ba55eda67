"""Names read from an email's user part, for records that carry an email but no names.

A webshop account may hold only an email; with no names its phone and postal address, which a
household shares, are all there is to match on, and such records join the wrong member of a
family. People build their address from their names ('paula.leppavuori86@', 'leppavuori.paula@'),
so a user part of exactly two words, one a first name and the other a last name that the records
themselves use, names its owner. Anything else ('perhe.alanen', 'sauna10', 'e.rosenblad') names
no one and the record stays nameless.
"""

from __future__ import annotations

import re

import pandas as pd

from transforms.standardise.text import first_word

_TWO_WORDS = re.compile(r"^([a-z]{2,})[._-]([a-z]{2,})\d*$")


def _known(names: pd.Series) -> set[str]:
    """Names used by at least two records: a single record's typo is not a name."""
    counts = names.dropna().value_counts()
    return set(counts.index[counts >= 2])


def borrows_names(records: pd.DataFrame) -> pd.Series:
    """Whether a record would be given names from its email: what it gets depends on the other records (a word
    is a name while two records use it), so whatever is derived from its names is its own only for this run."""
    return records["first_name"].isna() & records["last_name"].isna() & records["email_local"].notna()


def with_names_from_email(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` with first and last name filled from the email where both were missing."""
    nameless = borrows_names(records)
    if not nameless.any():
        return records
    firsts = _known(first_word(records["first_name"]))
    lasts = _known(records["last_name"])

    def read(local: str) -> tuple[str | None, str | None]:
        words = _TWO_WORDS.match(local)
        if words is None:
            return None, None
        a, b = words.groups()
        if a in firsts and b in lasts:
            return a, b
        if b in firsts and a in lasts:
            return b, a
        return None, None

    locals_ = records.loc[nameless, "email_local"]
    read_names = {value: read(value) for value in locals_.unique()}
    first, last = records["first_name"].copy(), records["last_name"].copy()
    first[nameless] = locals_.map(lambda v: read_names[v][0])
    last[nameless] = locals_.map(lambda v: read_names[v][1])
    out = records.copy(deep=False)  # the two name columns are replaced, not written into: the caller's stay
    out["first_name"], out["last_name"] = first, last
    return out
