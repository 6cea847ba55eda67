"""Person names: a tidy display form and a folded comparison form."""

from __future__ import annotations

import re

from quality.canonical import repair
from transforms.standardise.text import fold

_HYPHEN = re.compile(r"\s*[-\u2010\u2011\u2013\u2014]\s*")
_NOT_LETTER = re.compile(r"[^a-z ]+")


def clean_name(value: str) -> str | None:
    """'  anna -liisa ' -> 'Anna-Liisa'; case is normalised only when the input is all one case."""
    text = _HYPHEN.sub("-", repair(value))
    if not text:
        return None
    if text.islower() or text.isupper():
        text = "-".join(" ".join(w.capitalize() for w in part.split(" ")) for part in text.split("-"))
    return text


def fold_name(value: str) -> str | None:
    """'Anna-Liisa Mäkelä' -> 'anna liisa makela': the form every name comparison uses."""
    cleaned = clean_name(value)
    if cleaned is None:
        return None
    folded = _NOT_LETTER.sub(" ", fold(cleaned).replace("-", " "))
    return " ".join(folded.split()) or None
