"""Names read from an email's user part, for records that carry an email but no names.

A webshop account may hold only an email; with no names its phone and postal address, which a
household shares, are all there is to match on, and such records join the wrong member of a
family. People build their address from their names ('paula.leppavuori86@', 'leppavuori.paula@'),
so a user part of two words, one a first name and the other a last name that the records themselves
use (a middle initial between them is allowed: 'leo.m.vainiomaki'), names its owner. A user part
that holds only a last name the records use, alone or beside an initial or another word
('ylijokinummi20', 'ttakala', 'e.rosenblad', 'perhe.alanen'), names the family but not the member:
the record stays nameless and gets that name as ``email_family``, evidence against only, so that
another family's phone or home it shares is not taken for its owner's (a family's address is
everyone's in it, so the name is no evidence for any one of them). Such an address, or one naming two
people ('tuula.ja.niilo'), is the household's (``email_household``): the same address on a member's
record does not say the account is that member's. A user part that is one first name
the records use, of four letters or more and more often a first name than a last name (some records
carry their names swapped), with or without digits ('tiina95'), names its owner's first name: a
household's phone and home then join the account to that member, not to whoever else lives there.
Anything else ('sauna10') names no one.
"""

from __future__ import annotations

import re

import pandas as pd

from transforms.standardise.text import first_word

_TWO_WORDS = re.compile(r"^([a-z]{2,})[._-](?:[a-z][._-])?([a-z]{2,})\d*$")
_WORDS = re.compile(r"[a-z]+")
FAMILY_NAME_LETTERS = 6  # the shortest last name an email is read for
FIRST_NAME_LETTERS = 4  # the shortest first name a one-word user part is read as
_ONE_WORD = re.compile(rf"^([a-z]{{{FIRST_NAME_LETTERS},}})\d*$")


def _known(uses: dict[str, int]) -> set[str]:
    """Names used by at least two records: a single record's typo is not a name."""
    return {name for name, count in uses.items() if count >= 2}


def _family_name(local: str, lasts: set[str]) -> str | None:
    """A last name the user part holds: one of its words, or a word less its first or last letter (an
    initial written without a dot: 'ttakala', 'honkanenm'). Names of five letters or fewer are left out:
    many Finnish surnames are words people put in addresses for their own sake ('karhu88', 'lumi7')."""
    for word in _WORDS.findall(local):
        for candidate in (word, word[1:], word[:-1]):
            if len(candidate) >= FAMILY_NAME_LETTERS and candidate in lasts:
                return candidate
    return None


def names_own_first(first: str, last: object, local: object) -> bool:
    """Whether a named record's email names its own first name: as one of its user part's words
    ('hanna.jokinen', 'jokinen.hanna84', 'hanna.ja.pekka') or glued to the record's last name ('kaisuvainioluoto')."""
    if not isinstance(local, str):
        return False
    words = _WORDS.findall(local)
    return first in words or (isinstance(last, str) and "".join(words).startswith(first + last.replace(" ", "")))


def borrows_names(records: pd.DataFrame) -> pd.Series:
    """Whether a record would be given names from its email: what it gets depends on the other records (a word
    is a name while two records use it), so whatever is derived from its names is its own only for this run."""
    return records["first_name"].isna() & records["last_name"].isna() & records["email_local"].notna()


def with_names_from_email(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` with first and last name filled from the email where both were missing, and the family
    name the email gives where it names no one (``email_family``)."""
    nameless = borrows_names(records)
    if not nameless.any():
        return records
    first_uses = first_word(records["first_name"]).value_counts().to_dict()
    last_uses = records["last_name"].value_counts().to_dict()
    firsts, lasts = _known(first_uses), _known(last_uses)

    def read(local: str) -> tuple[str | None, str | None]:
        words = _TWO_WORDS.match(local)
        if words is not None:
            a, b = words.groups()
            if a in firsts and b in lasts:
                return a, b
            if b in firsts and a in lasts:
                return b, a
        word = _ONE_WORD.match(local)
        name = word.group(1) if word is not None else None
        if name in firsts and first_uses[name] > last_uses.get(name, 0):
            return name, None
        return None, None

    locals_ = records.loc[nameless, "email_local"]
    read_names = {value: read(value) for value in locals_.unique()}
    first, last = records["first_name"].copy(), records["last_name"].copy()
    first[nameless] = locals_.map(lambda v: read_names[v][0])
    last[nameless] = locals_.map(lambda v: read_names[v][1])
    family = pd.Series(None, index=records.index, dtype=object)
    unnamed = locals_[last[nameless].isna().to_numpy()]
    family[unnamed.index] = unnamed.map({v: _family_name(v, lasts) for v in unnamed.unique()})
    couple = pd.Series(False, index=records.index)
    couple[unnamed.index] = unnamed.map({v: len(set(_WORDS.findall(v)) & firsts) >= 2 for v in unnamed.unique()})
    out = records.copy(deep=False)  # the name columns are replaced, not written into: the caller's stay
    out["first_name"], out["last_name"], out["email_family"] = first, last, family
    out["email_household"] = family.notna() | couple
    return out
