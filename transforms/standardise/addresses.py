"""Street addresses and postal codes in the form Finnish clerks' abbreviations all reduce to."""

from __future__ import annotations

import re

from quality.canonical import repair
from transforms.standardise.text import fold

# Street-type abbreviations as Finnish systems write them, folded ('väylä' -> 'vayla').
_ABBREVIATIONS = {
    "k": "katu",
    "t": "tie",
    "kj": "kuja",
    "p": "polku",
    "r": "rinne",
    "vl": "vayla",
    "bul": "bulevardi",
}
_ATTACHED = re.compile(r"\b([a-z]+?)(" + "|".join(sorted(_ABBREVIATIONS, key=len, reverse=True)) + r")\.")
_DETACHED = re.compile(r"\b(" + "|".join(_ABBREVIATIONS) + r")\.")
_FLAT_WORD = re.compile(r"\bas\.?\s*")
_UNIT_GLUED = re.compile(r"\b(\d+)\s*([a-z])\s*(\d+)\b")
_STAIRCASE_GLUED = re.compile(r"\b([a-z])(\d+)\b")
_POSTCODE = re.compile(r"^\d{5}$")
_LEADING_DIGITS = re.compile(r"\d+")


def normalise_street(value: str) -> str | None:
    """'Hämeenk. 12 B7' -> 'hameenkatu 12 b 7'; 'Koivut. 3 as. 4' -> 'koivutie 3 4'."""
    text = fold(repair(value)).replace(",", " ")
    if not text.strip():
        return None
    text = _ATTACHED.sub(lambda m: m.group(1) + _ABBREVIATIONS[m.group(2)], text)
    text = _DETACHED.sub(lambda m: _ABBREVIATIONS[m.group(1)], text)
    text = _FLAT_WORD.sub("", text)
    text = _UNIT_GLUED.sub(r"\1 \2 \3", text)
    text = _STAIRCASE_GLUED.sub(r"\1 \2", text)
    return " ".join(text.split()) or None


def street_name(street: str) -> str:
    """The street without its number and unit: 'hameenkatu 12 b 7' -> 'hameenkatu'."""
    words = []
    for word in street.split():
        if word[0].isdigit():
            break
        words.append(word)
    return " ".join(words)


def house_number(street: str) -> str | None:
    """The house number without its unit or letter: 'hameenkatu 12 b 7' -> '12', 'koivutie 3a' -> '3', '2. linja
    5' -> '5' (a number before the street's words is part of its name); None when the street has none. Two
    addresses on one street are one home only if their numbers agree."""
    named = False
    for word in street.split():
        if word[0].isdigit() and named:
            return _LEADING_DIGITS.match(word).group()
        named = named or word[0].isalpha()
    return None


def normalise_postcode(value: str) -> str | None:
    text = repair(str(value)).replace(" ", "")
    return text if _POSTCODE.match(text) else None
