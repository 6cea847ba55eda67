"""Masking of raw rows for display: only fields known to carry no personal data are shown.

What is known comes from the table's description (``quality.tables``): a field whose landed column is in
a category that identifies nobody (keys of records, consent, profile, transactions, business facts,
technical fields) is shown; every other field, and every field the description does not name, is masked.
An allow-list rather than a deny-list: a field a system adds tomorrow is masked until someone describes
it, which is the right way round for personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quality.contract import NOT_IDENTIFYING, LandedTable, Path, column

MASK = "***"
# Where a row too broken to parse came from (a file and line, an endpoint): about the load, not a person.
WHERE_FROM = frozenset({"file", "line_no", "endpoint"})


def mask_text(value: Any) -> str:
    """First character and a fixed-length mask, so that neither content nor length leaks."""
    text = "" if value is None else str(value)
    return text[:1] + MASK if text else ""


def mask_line(line: str, separator: str = ";") -> str:
    """A raw delimited line that could not be parsed: keep the first field (the record key)."""
    first, *rest = line.split(separator)
    return separator.join([first, *(mask_text(part) for part in rest)])


def mask_record(table: LandedTable | None, record: Any) -> Any:
    """A copy of a raw record of ``table`` with every field its description does not show masked."""
    categories = table.column_categories if table else {}
    shown = {name for name, category in categories.items() if category in NOT_IDENTIFYING}
    return _masked(record, (), shown)


def _masked(value: Any, path: Path, shown: set[str]) -> Any:
    if isinstance(value, Mapping):
        return {key: _field(item, (*path, str(key)), shown) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, path, shown) for item in value]
    return mask_text(value) if value not in (None, "") else value


def _field(value: Any, path: Path, shown: set[str]) -> Any:
    if path == ("line",) and isinstance(value, str):
        return mask_line(value)
    if column(path) in shown or (len(path) == 1 and path[0] in WHERE_FROM):
        return value
    return _masked(value, path, shown)
