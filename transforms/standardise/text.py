"""Text repairs shared by every field: broken encodings, stray spaces, accents for comparison."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

import ftfy
import pandas as pd

_SPACES = re.compile(r"\s+")


def per_unique(series: pd.Series, function: Callable[[Any], Any]) -> pd.Series:
    """Apply ``function`` once per distinct non-null value: identity fields repeat a lot."""
    values = series.dropna().unique()
    mapping = {value: function(value) for value in values}
    return series.map(mapping).astype(object).where(series.notna(), None)


def repair(text: str) -> str:
    """Undo mojibake ('HÃ¤meenkatu' -> 'Hämeenkatu') and collapse whitespace."""
    fixed = ftfy.fix_text(text, normalization="NFC") if not text.isascii() else text
    return _SPACES.sub(" ", fixed).strip()


def fold(text: str) -> str:
    """Lower case without diacritics: 'Hämäläinen' and 'Hamalainen' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
