"""What the hub holds about a person (Art. 15) and what they provided, to take elsewhere (Art. 20).

Both walk the inventory (``hub.gdpr.inventory``), so a holding added there is reported here. The
access report gives every row of every holding with why it is held, on what basis, for how long,
where it came from and who receives it, plus what the tools were told and the audit trail of reads
(by pseudonym). Portability gives only what the person gave the retailer's systems, as JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa

from hub.gdpr import inventory
from hub.gdpr.inventory import Holding
from hub.gdpr.locate import Person, select_rows
from hub.storage import HUB_SCHEMA, LANDING_SCHEMA, existing_tables, read_frame, table_exists
from quality.identifiers import keyed_hash
from quality.suppression import Suppression
from quality.tables import landed_tables

CONTROLLER = "the retailer (controller); the customer hub processes on its behalf"
RIGHTS = (
    "You may ask for correction (Art. 16), erasure (Art. 17), restriction (Art. 18), a portable copy (Art. 20), "
    "object to direct marketing and profiling (Art. 21), and complain to the data protection authority."
)


def person_screen(key: bytes, person: Person) -> Suppression:
    """A screen that recognises this person's rows, built like the suppression list of an erasure."""
    hashes = {keyed_hash(key, kind, value) for kind, value in person.identifiers()}
    return Suppression(key, frozenset(h for h in hashes if h))


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return None
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items() if not str(k).startswith("_dlt_")} for row in rows]


def holding_rows(
    connection: sa.Connection, holding: Holding, person: Person, key: bytes, present: frozenset[str]
) -> list[dict[str, Any]]:
    """The person's rows in one holding (none when the table does not exist yet: ``present`` are those that do,
    ``storage.existing_tables``)."""
    if holding.name not in present:
        return []
    if holding.name == f"{LANDING_SCHEMA}.quarantine":
        return quarantined_rows(connection, person, key).to_dict("records")
    return select_rows(connection, f"SELECT * FROM {holding.name} WHERE {holding.find}", person.params)


def quarantined_rows(connection: sa.Connection, person: Person, key: bytes, own_only: bool = True) -> pd.DataFrame:
    """Quarantined rows that are the person's own records, or (``own_only=False``, for erasure) also
    other rows that carry one of their identifiers, such as a relative's row with a shared email."""
    frame = read_frame(connection, f"SELECT * FROM {LANDING_SCHEMA}.quarantine")
    if frame.empty:
        return frame
    screen = person_screen(key, person)

    def theirs(row: pd.Series) -> bool:
        raw, table = json.loads(row["raw"]), row["table_name"]
        if not isinstance(raw, dict):
            return False
        if "line" in raw:  # too broken to parse: the vendor's first field is the member number
            own = screen.holds_record(f"{table.split('_', 1)[0]}:{str(raw['line']).split(';', 1)[0].strip()}")
        else:
            own = screen.screen(table, raw) is None
        return own if own_only else own or screen.screen(table, raw) != raw or screen.holds_raw(table, raw)

    return frame[frame.apply(theirs, axis=1)]


def access_report(connection: sa.Connection, person: Person, key: bytes, request_id: str) -> dict[str, Any]:
    held = []
    present = existing_tables(connection)
    for holding in inventory.holdings():
        rows = holding_rows(connection, holding, person, key, present)
        if not rows:
            continue
        held.append(
            {
                "table": holding.name,
                "what": holding.what,
                "purpose": holding.purpose,
                "legal_basis": holding.legal_basis,
                "retention": holding.retention,
                "source": holding.source,
                "recipients": holding.recipients,
                "rows": _rows(rows),
            }
        )
    return {
        "report": "access (GDPR Art. 15)",
        "request_id": request_id,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "controller": CONTROLLER,
        "customer_ids": list(person.customer_ids),
        "earlier_customer_ids": list(person.former_ids),
        "source_records": list(person.records),
        "systems": sorted({r.split(":", 1)[0] for r in person.records}),
        "holdings": held,
        "sent_to_tools": _sent(connection, person),
        "rights": RIGHTS,
    }


def _sent(connection: sa.Connection, person: Person) -> list[dict[str, Any]]:
    """What the hub told each tool about the person, and when (the tools' receipts)."""
    if not person.requests or not table_exists(connection, HUB_SCHEMA, "dsr_notification"):
        return []
    sent = select_rows(
        connection,
        f"SELECT request_id, system, action, status, receipt, sent_at FROM {HUB_SCHEMA}.dsr_notification "
        "WHERE request_id IN :requests ORDER BY sent_at",
        person.params,
    )
    return _rows(sent)


def portability_export(connection: sa.Connection, person: Person, key: bytes, request_id: str) -> dict[str, Any]:
    """What the person provided to each system (and the purchases they made), as the systems hold it."""
    systems: dict[str, dict[str, list]] = {}
    present = existing_tables(connection)
    for table in landed_tables():
        if table.portable and table.processing is not None:
            rows = holding_rows(connection, inventory.holding(f"{LANDING_SCHEMA}.{table.name}"), person, key, present)
            if rows:
                systems.setdefault(table.system, {})[table.name] = _rows(rows)
    return {
        "format": "customer-hub-portability/1",
        "request_id": request_id,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "systems": systems,
    }
