"""Load accounting: what each load read, landed and quarantined, from the database itself."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from hub.storage import HUB_SCHEMA, LANDING_SCHEMA, table_columns, table_exists
from sources.landing import LEDGER_TABLE, QUARANTINE_TABLE


@dataclass(frozen=True)
class LoadAccount:
    load_id: str
    read: int
    landed: int
    quarantined: int
    superseded: int
    suppressed: int  # held back at the door as an erased person's, or erased after the load
    unchanged: int = 0  # rows of a settled table read again that it already held as read

    @property
    def balanced(self) -> bool:
        return self.read == self.landed + self.quarantined + self.superseded + self.suppressed + self.unchanged


def _scalar(connection: sa.Connection, sql: str, **params) -> int:
    return int(connection.execute(sa.text(sql), params).scalar() or 0)


def latest_load_id(connection: sa.Connection, system: str) -> str | None:
    """The newest completed dlt load of a system (dlt names the schema after the source)."""
    if not table_exists(connection, LANDING_SCHEMA, "_dlt_loads"):
        return None
    return connection.execute(
        sa.text(f"SELECT max(load_id) FROM {LANDING_SCHEMA}._dlt_loads WHERE schema_name = :system AND status = 0"),
        {"system": system},
    ).scalar()


def account(connection: sa.Connection, system: str, table: str, load_id: str) -> LoadAccount:
    """Rows read, landed, quarantined, superseded, held back and already held, for one table in one load."""
    read = superseded = suppressed = unchanged = landed = quarantined = 0
    ledger_columns = table_columns(connection, LANDING_SCHEMA, LEDGER_TABLE)
    if ledger_columns:
        # dlt adds a column when a load first carries a value for it: older hubs lack the later ones
        held, same = (
            f"coalesce(sum({c}), 0)" if c in ledger_columns else "0" for c in ("rows_suppressed", "rows_unchanged")
        )
        row = connection.execute(
            sa.text(
                f"SELECT coalesce(sum(rows_read), 0), coalesce(sum(rows_superseded), 0), {held}, {same} "
                f"FROM {LANDING_SCHEMA}.{LEDGER_TABLE} WHERE table_name = :t AND _dlt_load_id = :l"
            ),
            {"t": table, "l": load_id},
        ).one()
        read, superseded, suppressed, unchanged = (int(v) for v in row)
    if table_exists(connection, HUB_SCHEMA, "landing_erasure"):
        suppressed += _scalar(
            connection,
            f"SELECT coalesce(sum(rows_erased), 0) FROM {HUB_SCHEMA}.landing_erasure "
            "WHERE table_name = :t AND load_id = :l",
            t=table,
            l=load_id,
        )
    if table_exists(connection, LANDING_SCHEMA, table):
        landed = _scalar(
            connection,
            f"SELECT count(*) FROM {LANDING_SCHEMA}.{table} WHERE _dlt_load_id = :l",
            l=load_id,
        )
    if table_exists(connection, LANDING_SCHEMA, QUARANTINE_TABLE):
        quarantined = _scalar(
            connection,
            f"SELECT count(*) FROM {LANDING_SCHEMA}.{QUARANTINE_TABLE} WHERE table_name = :t AND _dlt_load_id = :l",
            t=table,
            l=load_id,
        )
    return LoadAccount(load_id, read, landed, quarantined, superseded, suppressed, unchanged)
