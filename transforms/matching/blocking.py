"""Blocking: the passes that choose which record pairs are worth comparing at all.

Each pass, a recordlinkage index algorithm, pairs records sharing one derived key; the candidate set
is their union. A key shared by more records than a pass allows (a common name, a shop's placeholder
email) says little about identity and would add pairs quadratically, so such blocks are skipped
and counted. Recall of every pass is measured by the benchmark.
"""

from __future__ import annotations

import hashlib
import sys
from importlib.metadata import version

import jellyfish
import numpy as np
import pandas as pd
from recordlinkage.base import BaseIndexAlgorithm

from transforms.code_digest import code_digest
from transforms.matching import email_names, emails
from transforms.matching.email_names import with_names_from_email
from transforms.matching.emails import email_words
from transforms.matching.settings import BLOCKING_KEYS, BlockingPass
from transforms.standardise import text
from transforms.standardise.text import first_word, last_word, per_unique


def _soundex(value: str) -> str:
    return jellyfish.soundex(value)


def blocking_keys(records: pd.DataFrame) -> pd.DataFrame:
    """One column per key the settings may name (``settings.BLOCKING_KEYS``); None where a record lacks what
    the key needs. Records without names are keyed by the names their email gives, if any."""
    return record_keys(with_names_from_email(records))


def keys_digest() -> str:
    """A digest of the code that makes a record's keys: keys kept from an earlier run hold while it is equal."""
    return code_digest((sys.modules[__name__], email_names, emails, text), version("jellyfish"))


def record_keys(records: pd.DataFrame) -> pd.DataFrame:
    """The keys of records whose names were read from their emails already (``with_names_from_email``): each
    row's keys follow from that row alone (but a nameless record's: ``email_names.borrows_names``)."""
    first, last = records["first_name"], records["last_name"]
    first1 = first_word(first)
    mmdd = records["birth_month_day"]
    keys = pd.DataFrame(index=records.index)
    keys["email"] = records["email"]
    keys["phone"] = records["phone"]
    local = records["email_local"]
    keys["email_local"] = local.where(local.str.len() >= 6)
    keys["name_set"] = per_unique((first + " " + last).dropna(), lambda s: " ".join(sorted(s.split()))).reindex(
        records.index
    )
    provider = per_unique(records["email"], lambda e: e.rsplit("@", 1)[-1])
    keys["email_words"] = provider + "|" + per_unique(records["email_local"], email_words)
    keys["name_provider"] = keys["name_set"] + "|" + provider
    keys["last_birthday"] = last + "|" + mmdd
    keys["first_birthday"] = first1 + "|" + mmdd
    keys["postcode_first"] = records["postal_code"] + "|" + first1.str[:3]
    keys["street_initial"] = records["street"] + "|" + first1.str[:1]
    sounds = per_unique(first1, _soundex) + per_unique(last_word(last), _soundex)
    keys["name_sounds_postcode"] = sounds + "|" + records["postal_code"].str[:3]
    return keys[list(BLOCKING_KEYS)].astype(object).where(keys.notna(), None)


def blocking_salt(secret: bytes) -> str:
    """The 16 characters ``hashed_keys`` hashes with, from the hub's secret key (not the key itself)."""
    return hashlib.sha256(secret + b":blocking").hexdigest()[:16]


def hashed_keys(keys: pd.DataFrame, salt: str) -> pd.DataFrame:
    """``keys`` as keyed 64-bit hashes (``salt``: 16 characters of the hub's secret), missing where the key is.

    Blocking asks only whether two records share a key, which the hashes answer as well as the values do (a
    collision, at 2^-64 a pair, adds a candidate pair that comparison then judges); kept between runs they hold
    no name, email or phone in clear."""
    hashed = pd.DataFrame(index=keys.index)
    for name in keys.columns:
        values = keys[name]
        present = values.notna().to_numpy()
        codes = np.zeros(len(values), dtype=np.int64)
        if present.any():
            codes[present] = pd.util.hash_array(values[present].to_numpy(object), hash_key=salt).view(np.int64)
        hashed[name] = pd.arrays.IntegerArray(codes, ~present)
    return hashed


class CappedBlock(BaseIndexAlgorithm):
    """Pairs of records sharing ``key``, for keys shared by at most ``max_block`` records."""

    def __init__(self, key: str, max_block: int) -> None:
        super().__init__(verify_integrity=False)
        self.key = key
        self.max_block = max_block
        self.skipped_blocks = 0

    def _usable(self, frame: pd.DataFrame, sizes: pd.Series) -> pd.DataFrame:
        keys = frame[self.key].dropna()
        size = keys.map(sizes)
        self.skipped_blocks += int(sizes.gt(self.max_block).sum())
        kept = keys[size.between(1, self.max_block)]
        return pd.DataFrame({"k": kept.to_numpy(), "i": kept.index.to_numpy()})

    def _dedup_index(self, df_a: pd.DataFrame) -> pd.MultiIndex:
        sizes = df_a[self.key].value_counts()
        usable = self._usable(df_a, sizes[sizes > 1])
        joined = usable.merge(usable, on="k")
        joined = joined[joined["i_x"] < joined["i_y"]]
        return pd.MultiIndex.from_arrays([joined["i_x"].to_numpy(), joined["i_y"].to_numpy()])

    def _link_index(self, df_a: pd.DataFrame, df_b: pd.DataFrame) -> pd.MultiIndex:
        # ``df_b`` holds every record: the blocks of ``df_a``'s keys are whole, and sized as in a full run.
        blocks = df_b[df_b[self.key].isin(df_a[self.key].dropna().unique())]
        sizes = blocks[self.key].value_counts()
        joined = self._usable(df_a, sizes).merge(self._usable(blocks, sizes), on="k")
        joined = joined[joined["i_x"] != joined["i_y"]]
        return pd.MultiIndex.from_arrays([joined["i_x"].to_numpy(), joined["i_y"].to_numpy()])


def _encoded(pairs: pd.MultiIndex, size: int) -> np.ndarray:
    """Pairs as one int64 each (left * size + right, left < right): cheap to merge and deduplicate."""
    left, right = np.asarray(pairs.get_level_values(0)), np.asarray(pairs.get_level_values(1))
    return np.minimum(left, right).astype(np.int64) * size + np.maximum(left, right)


def candidate_pairs(
    keys: pd.DataFrame, passes: tuple[BlockingPass, ...], changed: pd.Index | None = None
) -> np.ndarray:
    """Union of all passes as an (n, 2) array of positions with left < right.

    With ``changed``, only pairs with at least one changed record are made (incremental matching).
    The union is taken on encoded integers: a union of pandas MultiIndexes of millions of pairs
    would cost gigabytes.
    """
    size = len(keys)
    codes = []
    for p in passes:
        index = CappedBlock(p.name, p.max_block)
        pairs = index.index(keys) if changed is None else index.index(keys.loc[changed], keys)
        codes.append(_encoded(pairs, size))
    unique = np.unique(np.concatenate(codes)) if codes else np.empty(0, dtype=np.int64)
    return np.column_stack(np.divmod(unique, size)).astype(np.int64)


def pairs_per_pass(keys: pd.DataFrame, passes: tuple[BlockingPass, ...]) -> dict[str, np.ndarray]:
    """Each pass's own pairs, for measuring what every pass contributes to recall."""
    result = {}
    for p in passes:
        pairs = CappedBlock(p.name, p.max_block).index(keys)
        result[p.name] = np.column_stack([pairs.get_level_values(0), pairs.get_level_values(1)]).astype(np.int64)
    return result


def split_pairs(pairs: np.ndarray, shards: int) -> list[np.ndarray]:
    """``pairs`` (the deduplicated union of all passes) as ``shards`` contiguous slices of near-equal size.

    Splitting the union, not the blocks, puts every pair in exactly one slice: a pair that several
    passes (or blocks) propose is compared once, and none is lost between shards. Slices of the sorted
    union are balanced whatever the block sizes, and concatenated in order they are the union again.
    """
    return np.array_split(pairs, shards)
