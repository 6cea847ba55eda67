"""Text helpers shared by every field: accents folded for comparison, work done once per distinct value.

Repairing broken encodings is ``quality.canonical.repair``: the canonical identifiers need it too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import pandas as pd


def per_unique(series: pd.Series, function: Callable[[Any], Any]) -> pd.Series:
    """Apply ``function`` once per distinct non-null value: identity fields repeat a lot."""
    values = series.dropna().unique()
    mapping = {value: function(value) for value in values}
    return series.map(mapping).astype(object).where(series.notna(), None)


def first_word(names: pd.Series) -> pd.Series:
    """The first word of each name ('anna' of 'anna liisa'): the given name people go by."""
    return per_unique(names, lambda name: name.split(" ")[0])


def last_word(names: pd.Series) -> pd.Series:
    """The last word of each name ('virtanen' of 'korhonen virtanen'): a double surname's newest part."""
    return per_unique(names, lambda name: name.split(" ")[-1])


def fold(text: str) -> str:
    """Lower case without diacritics: 'Hämäläinen' and 'Hamalainen' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
