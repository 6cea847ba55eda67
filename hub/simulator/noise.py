"""Elementary ways in which people and clerks mistype identity data.

Each function takes one clean value and returns it as some system would hold it. They are plain
string functions with an explicit `random.Random`, so a seeded run reproduces every typo.
"""

from __future__ import annotations

import random
import re
from datetime import date

from hub.simulator.wordlists import STREET_SUFFIXES

_UMLAUTS = str.maketrans("äöåÄÖÅ", "aoaAOA")
_EMAIL_FOLD = str.maketrans({"ä": "a", "ö": "o", "å": "a", "é": "e", "ü": "u", " ": "", "'": ""})
_KEYBOARD_ROWS = ("qwertyuiopå", "asdfghjklöä", "zxcvbnm")
_NEIGHBOURS: dict[str, str] = {}
for _row in _KEYBOARD_ROWS:
    for _i, _key in enumerate(_row):
        _NEIGHBOURS[_key] = _row[max(_i - 1, 0) : _i] + _row[_i + 1 : _i + 2]


def typo(text: str, r: random.Random) -> str:
    """One keyboard slip: two letters swapped, one dropped, one doubled, or a neighbouring key.

    The first letter is kept: people rarely get their initial wrong, and matchers that block on it
    should be tested on the errors that really occur.
    """
    if len(text) < 4:
        return text
    i = r.randrange(1, len(text) - 1)
    kind = r.randrange(4)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + text[i] + text[i:]
    neighbours = _NEIGHBOURS.get(text[i].lower())
    if not neighbours:
        return text[:i] + text[i + 1 :]
    replacement = r.choice(neighbours)
    if text[i].isupper():
        replacement = replacement.upper()
    return text[:i] + replacement + text[i + 1 :]


def strip_umlauts(text: str) -> str:
    """What a keyboard without Finnish layout, or an ASCII-only system, makes of 'Hämäläinen'."""
    return text.translate(_UMLAUTS)


def mojibake(text: str) -> str:
    """UTF-8 read back as Latin-1 somewhere in a legacy import: 'Hämeenkatu' -> 'HÃ¤meenkatu'."""
    return text.encode("utf-8").decode("latin-1")


def email_fold(text: str) -> str:
    """Lower-case ASCII form of a name as people use it in an email address."""
    return text.lower().translate(_EMAIL_FOLD)


_TWO_PART_USER = re.compile(r"^([a-z]+)([._])([a-z]+)(\d*)$")


def reorder_user(local: str) -> str:
    """'maria.virtanen12' -> 'virtanen.maria12': the user part typed the other way round.

    Only two-part user names ('first.last', 'first_last', with or without trailing digits) have an
    order to get wrong; others come back unchanged.
    """
    parts = _TWO_PART_USER.match(local)
    if not parts:
        return local
    first, separator, second, digits = parts.groups()
    return f"{second}{separator}{first}{digits}"


def abbreviate_street(street: str) -> str:
    """'Hämeenkatu' -> 'Hämeenk.', 'Koivutie' -> 'Koivut.' as clerks shorten street types."""
    for suffix, short in STREET_SUFFIXES.items():
        if street.endswith(suffix) and len(street) > len(suffix) + 2:
            return street[: -len(suffix)] + short
    return street


PHONE_STYLES = 5


def format_phone(digits: str, style: int) -> str:
    """A national mobile number ('0401234567') in one of the forms Finns write it.

    Styles: 0 '+358401234567', 1 '040 123 4567', 2 '0401234567', 3 '+358 40 1234567', 4 '040-1234567'.
    """
    if style == 0:
        return "+358" + digits[1:]
    if style == 1:
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    if style == 2:
        return digits
    if style == 3:
        return f"+358 {digits[1:3]} {digits[3:]}"
    return f"{digits[:3]}-{digits[3:]}"


UNIT_STYLES = 4


def format_unit(unit: str, style: int) -> str:
    """A staircase and flat ('B 7') or a flat alone ('as 7') in a house style.

    Styles: 0 as given, 1 without the space ('B7'), 2 lower case ('b 7'), 3 with 'as.' ('B as. 7').
    """
    if not unit or style == 0:
        return unit
    if style == 1:
        return unit.replace(" ", "")
    if style == 2:
        return unit.lower()
    head, _, flat = unit.partition(" ")
    if head == "as":
        return f"as. {flat}"
    return f"{head} as. {flat}"


def swap_day_and_month(day: date) -> date | None:
    """The birth date typed in the wrong order (3.7. read as 7.3.), or None when that is no date."""
    if day.day > 12 or day.day == day.month:
        return None
    return day.replace(month=day.day, day=day.month)


def mistype_postcode(postcode: str, r: random.Random) -> str:
    """Two adjacent digits of a postal code transposed."""
    i = r.randrange(len(postcode) - 1)
    return postcode[:i] + postcode[i + 1] + postcode[i] + postcode[i + 2 :]
