"""Holding an erased person back at the door: every load is screened against the suppression list.

An erasure leaves keyed hashes of the person's identifiers behind (their records in each system,
their email addresses and phone numbers). The systems still hold the person, so every later load
reads them again; the landing step screens each row before validation:

- a row that *is* one of the person's records (its key, or the email the email platform keys its
  members and activity by) is held back and counted as suppressed;
- an ERP invoice of the person is landed pseudonymised: bookkeeping law keeps invoices for years,
  but not the customer number in clear;
- any other row that merely carries one of the person's emails or phones (a relative sharing the
  family address) lands with that field blanked.

The screen reads where identities sit in each table's raw rows, before dlt flattens them, from the
tables' descriptions (``quality.tables``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from quality.contract import Path, value_at
from quality.identifiers import keyed_hash
from quality.tables import described

Row = dict[str, Any]

ERASED_PREFIX = "erased:"
MIN_PHONE_DIGITS = 5  # no valid phone number, with or without its country code, has fewer


def retained_pseudonym(key: bytes, record: str) -> str:
    """What replaces the customer key of a record kept for the law: stable, and not reversible without the key."""
    return ERASED_PREFIX + (keyed_hash(key, "record", record) or "")[:20]


def _blank(row: Row, path: Path) -> Row:
    """A copy of ``row`` with the field at ``path`` set to None (nested dicts copied on the way)."""
    head, *rest = path
    copy = dict(row)
    copy[head] = _blank(copy[head], tuple(rest)) if rest and isinstance(copy.get(head), dict) else None
    return copy


@dataclass(frozen=True)
class Suppression:
    """The suppression list (keyed hashes) and the key that makes them."""

    key: bytes
    hashes: frozenset[str]
    _hash: Callable[[str, Any], str | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = self.key

        @lru_cache(maxsize=200_000)
        def cached(kind: str, value: Any) -> str | None:
            return keyed_hash(key, kind, value)

        object.__setattr__(self, "_hash", cached)

    def __bool__(self) -> bool:
        return bool(self.hashes)

    def _hit(self, kind: str, value: Any) -> bool:
        return value not in (None, "") and self._hash(kind, str(value)) in self.hashes

    def holds_record(self, record: str) -> bool:
        """Whether ``system:key`` is one of the suppressed records."""
        return self._hit("record", record)

    def screen(self, table: str, row: Row) -> Row | None:
        """The row as it may land (possibly blanked or pseudonymised), or None when it is held back."""
        landed = described(table)
        if landed is None or not self.hashes:
            return row
        records = [r for link in landed.links if (r := link.record(row))]
        if any(self._hit("record", record) for record in records):
            if not landed.retained:
                return None
            pseudonym = retained_pseudonym(self.key, records[0])
            return {**row, **dict.fromkeys(landed.retained, pseudonym)}
        if any(self._hit("email", value_at(row, link.key)) for link in landed.links if link.by == "email"):
            return None
        for path, kind in landed.contacts():
            if self._hit(kind, value_at(row, path)):
                row = _blank(row, path)
        return row

    def screen_rows(self, table: str, rows: list[Row]) -> tuple[list[Row], int]:
        """The rows that may land, and how many were held back."""
        kept = [screened for screened in (self.screen(table, row) for row in rows) if screened is not None]
        return kept, len(rows) - len(kept)

    def holds_raw(self, table: str, raw: Row) -> bool:
        """Whether a row too broken to parse carries one of the person's identifiers in any field.

        Such a row would otherwise sit in quarantine with the person's data; it is held back whole.
        """
        values: list[str] = []
        for value in raw.values():
            values.extend(str(value).split(";") if isinstance(value, str) else [str(value)])
        landed = described(table)
        system = landed.system if landed else table.split("_", 1)[0]
        return any(
            self._hit("record", f"{system}:{value.strip()}")
            or ("@" in value and self._hit("email", value))
            or (_could_be_phone(value) and self._hit("phone", value))
            for value in values
            if value.strip()
        )


def _could_be_phone(value: str) -> bool:
    """Whether ``value`` has digits enough to be a phone number: checked before parsing it as one, which costs
    far more, for every field of every quarantined row an erasure looks through."""
    return sum(character.isdigit() for character in value) >= MIN_PHONE_DIGITS
