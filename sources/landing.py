"""The one way every connector lands a table: validate each batch, quarantine what fails, count.

Each landed table is a dlt transformer over the system's raw resource. For every batch it writes
the rows that meet their pandera model to the table (merged on its primary key), the rows that do
not to ``quarantine`` with their reasons, and one line to ``load_ledger`` with how many rows it
read. All three go in the same dlt load package, so ``_dlt_load_id`` ties them together and the
hub can prove, load by load, that rows read = rows landed + rows quarantined (+ rows superseded
by a newer copy of the same key in the same load, + rows of erased people held back by the
screen before validation, + rows of a settled table that it already holds as read).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from quality.quarantine import Rejected, to_json, validate_rows
from quality.tables import landed_table

QUARANTINE_TABLE = "quarantine"
LEDGER_TABLE = "load_ledger"

Parser = Callable[[Any], Iterable[tuple[list[dict[str, Any]], list[Rejected]]]]
Row = dict[str, Any]


@dataclass(frozen=True)
class Screen:
    """Rows the wiring says must not land as read, given to the connectors as plain functions.

    ``rows(table, rows)`` gives the rows that may land (an erased person's are held back, some have a field
    blanked) and how many were held back; ``broken(table, raw)`` says whether a row too broken to parse is to
    be held back. ``landed(table, rows)`` says which rows the table already holds exactly as read: a system
    that can only be read again whole (a campaign's activity) would otherwise write its old rows again on
    every run; the wiring answers it for settled tables (``LandedTable.settled_by``) and never for others.
    """

    rows: Callable[[str, list[Row]], tuple[list[Row], int]] = lambda table, rows: (rows, 0)
    broken: Callable[[str, Row], bool] = lambda table, raw: False
    landed: Callable[[str, list[Row]], list[bool]] | None = None


_QUARANTINE_HINTS = dlt.mark.make_hints(
    table_name=QUARANTINE_TABLE,
    write_disposition="append",
    primary_key="quarantine_id",
    columns=[
        {"name": "quarantine_id", "data_type": "text", "nullable": False},
        {"name": "system", "data_type": "text", "nullable": False},
        {"name": "table_name", "data_type": "text", "nullable": False},
        {"name": "raw", "data_type": "text", "nullable": False},
        {"name": "checks", "data_type": "text", "nullable": False},
        {"name": "quarantined_at", "data_type": "timestamp", "nullable": False},
    ],
)
_LEDGER_HINTS = dlt.mark.make_hints(
    table_name=LEDGER_TABLE,
    write_disposition="append",
    primary_key="entry_id",
    columns=[
        {"name": "entry_id", "data_type": "text", "nullable": False},
        {"name": "system", "data_type": "text", "nullable": False},
        {"name": "table_name", "data_type": "text", "nullable": False},
        {"name": "rows_read", "data_type": "bigint", "nullable": False},
        {"name": "rows_superseded", "data_type": "bigint", "nullable": False},
        {"name": "rows_suppressed", "data_type": "bigint", "nullable": True},
        {"name": "rows_unchanged", "data_type": "bigint", "nullable": True},
    ],
)


def _as_batches(item: Any) -> Iterable[tuple[list[dict[str, Any]], list[Rejected]]]:
    """An item of ready rows as one batch; a source marks what it could not read as ``Rejected``."""
    rows = item if isinstance(item, list) else [item]
    yield [r for r in rows if not isinstance(r, Rejected)], [r for r in rows if isinstance(r, Rejected)]


def landed(
    raw: DltResource,
    *,
    system: str,
    table: str,
    primary_key: str | list[str],
    columns: dict[str, dict[str, Any]] | None = None,
    parse: Parser = _as_batches,
    screen: Screen | None = None,
) -> DltResource:
    """``raw`` piped through validation against the table's model into the landing table ``table``.

    ``parse`` turns one item of ``raw`` into batches of (parsed rows, rows that could not even be
    parsed); the default takes the item as a batch of ready rows, its ``Rejected`` elements rejected.
    A key read twice in one load (two nightly snapshots, a page that shifted under the reader) lands
    once: the merge keeps the newest copy by the ``dedup_sort`` column the caller marks, and the
    ledger counts the other copies as superseded. ``screen`` holds rows back first.
    """
    keys = [primary_key] if isinstance(primary_key, str) else list(primary_key)
    model = landed_table(table).model

    # Every batch carries its table's hints: dlt would otherwise pass the landing table's column
    # hints on to the ledger and quarantine variants as well.
    table_hints = dlt.mark.make_hints(
        table_name=table, write_disposition="merge", primary_key=primary_key, columns=columns
    )

    @dlt.transformer(name=table)
    def land(item: Any) -> Iterator[Any]:
        load_id = dlt.current.load_package_state()["load_id"]
        if load_id not in land_state:
            land_state.clear()
        seen: set[tuple[Any, ...]] = land_state.setdefault(load_id, set())
        for parsed, unparsable in parse(item):
            read = len(parsed) + len(unparsable)
            suppressed = unchanged = 0
            if screen:
                # What the table holds as read passed the screen when it landed (an erasure since removed
                # it), so it is left out first and only the rest is screened.
                if screen.landed and parsed:
                    held = screen.landed(table, parsed)
                    unchanged = sum(held)
                    parsed = [row for row, there in zip(parsed, held, strict=True) if not there]
                parsed, suppressed = screen.rows(table, parsed)
                broken = len(unparsable)
                unparsable = [r for r in unparsable if not screen.broken(table, r.raw)]
                suppressed += broken - len(unparsable)
            good, failed = validate_rows(parsed, model)
            repeated = 0
            for row in good:
                key = tuple(row.get(k) for k in keys)
                repeated += key in seen
                seen.add(key)
            rejected = unparsable + failed
            if not read:
                continue
            yield dlt.mark.with_hints(
                {
                    "entry_id": uuid.uuid4().hex,
                    "system": system,
                    "table_name": table,
                    "rows_read": read,
                    "rows_superseded": repeated,
                    "rows_suppressed": suppressed,
                    "rows_unchanged": unchanged,
                },
                _LEDGER_HINTS,
                create_table_variant=True,
            )
            if good:
                yield dlt.mark.with_hints(good, table_hints, create_table_variant=True)
            if rejected:
                now = datetime.now(UTC)
                yield dlt.mark.with_hints(
                    [
                        {
                            "quarantine_id": uuid.uuid4().hex,
                            "system": system,
                            "table_name": table,
                            "raw": to_json(r.raw),
                            "checks": to_json(r.checks),
                            "quarantined_at": now,
                        }
                        for r in rejected
                    ],
                    _QUARANTINE_HINTS,
                    create_table_variant=True,
                )

    land_state: dict[str, set[tuple[Any, ...]]] = {}
    return raw | land
