"""Contacts that several people use: a family's email, a household's phone.

A shared email or phone proves one person only where the names agree as well. Where a record has
no names to check, or its first name is only close to the other's (siblings named alike), such a
contact tells which household the record belongs to, not which of its members: it is no evidence
of identity there. A contact is taken as shared when the records carrying it give two first names
that are not alike (neither the same, nor a typo, nor a nickname of one another).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz.distance import JaroWinkler

from transforms.matching.nicknames import equivalent
from transforms.matching.settings import Comparisons
from transforms.standardise.text import first_word

SHARED_CONTACTS = ("email", "phone")


def _alike(a: str, b: str, cutoffs: Comparisons) -> bool:
    return equivalent(a, b) or JaroWinkler.normalized_similarity(a, b) >= cutoffs.name_typo


def _several(names: np.ndarray, cutoffs: Comparisons) -> bool:
    return any(not _alike(a, b, cutoffs) for i, a in enumerate(names) for b in names[i + 1 :])


def shared_by_several(records: pd.DataFrame, cutoffs: Comparisons) -> dict[str, np.ndarray]:
    """Per contact feature, whether each record's value is used under first names that are not alike."""
    given = first_word(records["first_name"])
    out = {}
    for column in SHARED_CONTACTS:
        used = pd.DataFrame({"value": records[column], "given": given}).dropna().drop_duplicates()
        multiple = used[used.duplicated("value", keep=False)]
        shared = {value for value, names in multiple.groupby("value")["given"] if _several(names.to_numpy(), cutoffs)}
        out[column] = records[column].isin(shared).to_numpy()
    return out
