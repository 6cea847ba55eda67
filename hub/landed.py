"""Reading the landing tables as their descriptions say (``quality.tables``): the one place that turns a
description into SQL.

Identities for matching, the rows consent events come from, purchases for segments, and how to find one
person's rows for requests: each is built for every described table that has landed, so a new system's
description is read the same way without code of its own here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping

import pandas as pd
import sqlalchemy as sa

from hub.schema import landing_progress
from hub.storage import LANDING_SCHEMA, read_frame, table_columns
from quality.contract import IDENTITY_KINDS, Condition, LandedTable, Link, Records, column
from quality.tables import described, landed_tables

LOAD_ID = "_dlt_load_id"  # the dlt load that last wrote a landed row (landing merges on keys)
JSON_COLUMNS = frozenset({"marketing_permissions"})  # read as text: both stores then give the same value
IDENTITY_COLUMNS = ["source_system", "source_key", *IDENTITY_KINDS, "updated_at", "soft_deleted"]
RECORD_KEY_COLUMNS = ["source_system", "source_key", "table_name"]
PURCHASE_COLUMNS = ["source_system", "source_key", "channel", "table_name", "kind", "amount_eur", "at"]


def _literal(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "'" + str(value).replace("'", "''") + "'"
    return str(value)


def _holds(condition: Condition, alias: str = "") -> str:
    return f"{alias}{column(condition.path)} = {_literal(condition.equals)}"


def link_condition(link: Link, alias: str = "") -> str:
    """SQL true for the rows the link applies to ('1 = 1' when it applies to all)."""
    parts = []
    if link.when is not None:
        parts.append(_holds(link.when, alias))
    if link.unless is not None:
        parts.append(f"NOT ({_holds(link.unless, alias)})")
    return " AND ".join(parts) or "1 = 1"


def link_key(link: Link, alias: str = "") -> str:
    """SQL for the source key the link leads to (the crosswalk's spelling, prefix included)."""
    key = f"CAST({alias}{column(link.key)} AS VARCHAR)"
    return f"('{link.prefix}' || {key})" if link.prefix else key


def _first_present(paths: Iterable[tuple[str, ...]], present: set[str]) -> str:
    """A coalesce of the candidate columns that were landed (dlt creates no all-null column)."""
    found = [column(p) for p in paths if column(p) in present]
    if not found:
        return "NULL"
    return found[0] if len(found) == 1 else f"coalesce({', '.join(found)})"


def landed_columns(connection: sa.Connection, tables: Iterable[LandedTable] | None = None) -> dict[str, set[str]]:
    """The columns of each described table that has landed (tables not landed yet are left out)."""
    found = {t.name: table_columns(connection, LANDING_SCHEMA, t.name) for t in tables or landed_tables()}
    return {name: columns for name, columns in found.items() if columns}


def read_identities(
    connection: sa.Connection, tables: Iterable[LandedTable] | None = None, after: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Raw identity fields of every source record, as text: one row per person's record in any table; of a
    table named in ``after``, only the records of loads after the one given (``newest_loads``)."""

    def fields(records: Records, columns: set[str]) -> str:
        selected = ", ".join(
            f"CAST({_first_present(records.fields.get(kind, ()), columns)} AS VARCHAR) AS {kind}"
            for kind in IDENTITY_KINDS
        )
        deleted = "FALSE"
        if records.soft_deleted is not None and column(records.soft_deleted) in columns:
            deleted = f"coalesce({column(records.soft_deleted)}, FALSE)"
        updated = f"CAST({_first_present(records.updated_at, columns)} AS VARCHAR)"
        return f", {selected}, {updated} AS updated_at, {deleted} AS soft_deleted"

    return _read_records(connection, tables, fields, IDENTITY_COLUMNS, after)


def read_record_keys(connection: sa.Connection, tables: Iterable[LandedTable] | None = None) -> pd.DataFrame:
    """The system, key and table of every landed identity record and nothing else: enough to tell which
    records are gone, at a fraction of reading their fields."""
    return _read_records(connection, tables, lambda _records, _columns: "", RECORD_KEY_COLUMNS)


def _read_records(
    connection: sa.Connection,
    tables: Iterable[LandedTable] | None,
    fields: Callable[[Records, set[str]], str],
    columns: list[str],
    after: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One SELECT per described kind of record in each landed table: its system, key and table, then
    ``fields(records, landed columns)``; ``columns`` of all of them, or an empty frame of those columns."""
    tables = list(tables or landed_tables())
    present = landed_columns(connection, tables)
    frames = []
    for table in tables:
        if table.name not in present:
            continue
        since = f" AND {_newer(after, table.name)}" if after and table.name in after else ""
        for records in table.records:
            frames.append(
                read_frame(
                    connection,
                    f"SELECT '{records.link.system}' AS source_system, {link_key(records.link)} AS source_key, "
                    f"'{table.name}' AS table_name{fields(records, present[table.name])} "
                    f"FROM {LANDING_SCHEMA}.{table.name} WHERE {link_condition(records.link)}{since}",
                )
            )
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def read_consent_sources(
    connection: sa.Connection, tables: Iterable[LandedTable] | None = None, after: Mapping[str, str] | None = None
) -> dict:
    """The landing rows consent events come from, per table (its consent columns; a missing one is NULL); of a
    table named in ``after``, only the rows of loads after the one given (``newest_loads``)."""
    frames = {}
    for table in tables or landed_tables():
        present = table_columns(connection, LANDING_SCHEMA, table.name)
        if table.consent and present:
            selected = ", ".join(_consent_column(c, present) for c in table.consent)
            since = f" WHERE {_newer(after, table.name)}" if after and table.name in after else ""
            frames[table.name] = read_frame(connection, f"SELECT {selected} FROM {LANDING_SCHEMA}.{table.name}{since}")
    return frames


def newest_loads(connection: sa.Connection, tables: Iterable[LandedTable]) -> dict[str, str]:
    """The newest load that wrote a row of each table (tables without rows are left out)."""
    found = {}
    for table in tables:
        if LOAD_ID in table_columns(connection, LANDING_SCHEMA, table.name):
            newest = connection.execute(sa.text(f"SELECT max({LOAD_ID}) FROM {LANDING_SCHEMA}.{table.name}")).scalar()
            if newest is not None:
                found[table.name] = str(newest)
    return found


def read_progress(connection: sa.Connection, step: str, digest: str) -> dict[str, str]:
    """The newest load of each table that ``step`` has taken in, by the code of ``digest`` (``landing_progress``);
    progress made by other code does not count, so that a change of what the step derives reads all again."""
    progress = landing_progress.c
    rows = connection.execute(
        sa.select(progress.table_name, progress.load_id).where(progress.step == step, progress.code_digest == digest)
    )
    return {table: load for table, load in rows}


def save_progress(connection: sa.Connection, step: str, loads: Mapping[str, str], digest: str) -> None:
    """Record that ``step`` has taken in ``loads`` (table -> newest load) with the code of ``digest``."""
    progress = landing_progress.c
    connection.execute(sa.delete(landing_progress).where(progress.step == step))
    if loads:
        rows = [{"step": step, "table_name": t, "load_id": load, "code_digest": digest} for t, load in loads.items()]
        connection.execute(sa.insert(landing_progress), rows)


def _newer(after: Mapping[str, str], table: str) -> str:
    """SQL true for the rows of ``table`` written by loads after the one ``after`` names for it."""
    return f"{LOAD_ID} > {_literal(after[table])}"


def forget_progress(connection: sa.Connection, step: str, tables: Iterable[str]) -> None:
    """``step`` reads these tables whole next time: rows were changed in place, under the load that wrote them."""
    tables = list(tables)
    if tables:
        progress = landing_progress.c
        connection.execute(sa.delete(landing_progress).where(progress.step == step, progress.table_name.in_(tables)))


def _consent_column(name: str, present: set[str]) -> str:
    if name not in present:
        return f"NULL AS {name}"
    return f"CAST({name} AS VARCHAR) AS {name}" if name in JSON_COLUMNS else name


def purchases_sql(connection: sa.Connection, tables: Iterable[LandedTable] | None = None) -> str | None:
    """One SELECT of every purchase row in every landed sales table (``PURCHASE_COLUMNS``), or None.

    A row's record is its first applicable link; a status with two kinds (a refunded order) gives a sale
    and a return; amounts are absolute; a status not listed is no purchase.
    """
    parts = []
    for table in tables or landed_tables():
        sales = table.sales
        if sales is None or not table_columns(connection, LANDING_SCHEMA, table.name):
            continue
        amount = f"abs(CAST(p.{column(sales.amount)} AS DOUBLE PRECISION))"
        for link in sales.links:
            for kind, condition in _kinds(sales, "p.", f"p.{column(sales.amount)}"):
                parts.append(
                    f"SELECT '{link.system}' AS source_system, {link_key(link, 'p.')} AS source_key, "
                    f"'{table.system}' AS channel, '{table.name}' AS table_name, '{kind}' AS kind, "
                    f"{amount} AS amount_eur, p.{column(sales.at)} AS at "
                    f"FROM {LANDING_SCHEMA}.{table.name} p WHERE {link_condition(link, 'p.')} AND {condition}"
                )
    return " UNION ALL ".join(parts) if parts else None


def order_lines_sql(connection: sa.Connection, tables: Iterable[LandedTable] | None = None) -> str | None:
    """One SELECT of the sales that list their order lines: ``source_system``, ``source_key``, ``at``, ``items``
    (the lines as JSON text), for the purchase-history rules of audiences; None when none has landed."""
    parts = []
    for table in tables or landed_tables():
        sales = table.sales
        if (
            sales is None
            or sales.items is None
            or column(sales.items) not in table_columns(connection, LANDING_SCHEMA, table.name)
        ):
            continue
        amount = f"p.{column(sales.amount)}"
        sale = next((condition for kind, condition in _kinds(sales, "p.", amount) if kind == "sale"), "1 = 1")
        for link in sales.links:
            parts.append(
                f"SELECT '{link.system}' AS source_system, {link_key(link, 'p.')} AS source_key, "
                f"p.{column(sales.at)} AS at, CAST(p.{column(sales.items)} AS VARCHAR) AS items "
                f"FROM {LANDING_SCHEMA}.{table.name} p WHERE {link_condition(link, 'p.')} AND {sale}"
            )
    return " UNION ALL ".join(parts) if parts else None


def _kinds(sales, alias: str, amount: str) -> list[tuple[str, str]]:
    """(kind, SQL condition) for sale and return: by status, or without one by the amount's sign."""
    if sales.status is None:
        return [("sale", f"{amount} > 0"), ("return", f"{amount} < 0")]
    status = f"{alias}{column(sales.status)}"
    found = []
    for kind in ("sale", "return"):
        statuses = [s for s, kinds in sales.kinds.items() if kind in kinds]
        if statuses:
            found.append((kind, f"{status} IN ({', '.join(_literal(s) for s in statuses)})"))
    return found


def person_condition(table: LandedTable) -> str:
    """SQL true for the person's rows of a landed table, over ``hub.gdpr.locate.Person.params`` lists
    (every key of each system, prefixed as in the crosswalk; the email platform's addresses)."""
    parts = []
    for link in table.links:
        if link.by == "email":
            parts.append(f"{link_lookup(link)} IN :{link.system}_emails")
        elif link.when is None and link.unless is None:
            parts.append(f"{link_lookup(link)} IN :{link.system}")
        else:
            parts.append(f"({link_condition(link)} AND {link_lookup(link)} IN :{link.system})")
    return " OR ".join(parts) or "1 = 0"


def link_lookup(link: Link) -> str:
    """SQL for what a request compares with the person's keys (or the platform's addresses) along a link."""
    return f"lower({column(link.key)})" if link.by == "email" else link_key(link)


def contact_columns(table: LandedTable) -> dict[str, str]:
    """Landed column -> 'email' | 'phone' where another person's row may carry the person's contact."""
    return {column(path): kind for path, kind in table.contacts()}


PHONE_TAIL = 7  # a phone is looked for by its last digits, however it was written; E.164 confirms the match


def email_form(column_sql: str) -> str:
    """SQL for an email as the hub compares it: systems keep case and stray spaces."""
    return f"lower(trim({column_sql}))"


def phone_tail(column_sql: str) -> str:
    """SQL for the last ``PHONE_TAIL`` digits of a phone written any way ('+358 40 123', '040-123')."""
    return f"right(regexp_replace({column_sql}, '[^0-9]', '', 'g'), {PHONE_TAIL})"


def lookup_expressions(table: LandedTable) -> dict[str, str]:
    """The SQL expressions a request looks the table's rows up by, by the column each reads: the key of each
    link (``person_condition``) and the contacts an erasure blanks in other people's rows; and the column
    landing reads a settled table's rows by (``HeldRows``)."""
    found = {column((table.settled_by,)): table.settled_by} if table.settled_by else {}
    for link in table.links:
        found[link_lookup(link)] = column(link.key)
    for name, kind in contact_columns(table).items():
        found[email_form(name) if kind == "email" else phone_tail(name)] = name
    return found


def ensure_lookup_indexes(connection: sa.Connection, tables: Iterable[LandedTable]) -> None:
    """On PostgreSQL, an index on each lookup expression of the landed tables, so that an access request or an
    erasure reads the person's few rows, not every row of tables of millions. Created once per table (again
    after a load replaced it); DuckDB scans its columns fast enough and is left alone."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        present = table_columns(connection, LANDING_SCHEMA, table.name)
        for expression, column_name in lookup_expressions(table).items():
            if column_name not in present:
                continue
            digest = hashlib.sha256(expression.encode()).hexdigest()[:10]
            connection.execute(
                sa.text(
                    f"CREATE INDEX IF NOT EXISTS {table.name}_lookup_{digest} "
                    f"ON {LANDING_SCHEMA}.{table.name} (({expression}))"
                )
            )


class HeldRows:
    """Which rows of a batch a settled table (``LandedTable.settled_by``) already holds exactly as read, for the
    landing screen (``sources.landing.Screen.landed``); never any row of another table.

    The keys held for a value of the settled-by column are read when a batch first brings that value, and
    kept for the load. Times are compared as instants (the system's ISO text against the stored time); a
    value that does not parse is never held, so the row goes on to validation and its quarantine.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._held: dict[tuple[str, object], set[tuple]] = {}

    def __call__(self, table: str, rows: list[dict]) -> list[bool]:
        settled = described(table)
        if settled is None or settled.settled_by is None:
            return [False] * len(rows)
        batch = _key_frame(settled, pd.DataFrame.from_records(rows, columns=settled.key))
        by = settled.key.index(settled.settled_by)
        return [
            isinstance(key[by], str) and key in self._keys(settled, key[by])
            for key in zip(*(batch[k] for k in settled.key), strict=True)
        ]

    def _keys(self, table: LandedTable, value: object) -> set[tuple]:
        if (table.name, value) not in self._held:
            with self._engine.connect() as connection:
                if table.settled_by in table_columns(connection, LANDING_SCHEMA, table.name):
                    names = ", ".join(f'"{k}"' for k in table.key)
                    query = f'SELECT {names} FROM {LANDING_SCHEMA}.{table.name} WHERE "{table.settled_by}" = :v'
                    frame = _key_frame(table, read_frame(connection, query, v=value))
                else:
                    frame = pd.DataFrame(columns=table.key)
            self._held[table.name, value] = set(zip(*(frame[k] for k in table.key), strict=True))
        return self._held[table.name, value]


def _key_frame(table: LandedTable, frame: pd.DataFrame) -> pd.DataFrame:
    """Key columns in one form for both sides: times as nanoseconds since the epoch (None when unparsable)."""
    dtypes = table.model.to_schema().columns
    for name in table.key:
        if "datetime" in str(dtypes[name].dtype):
            instants = pd.to_datetime(frame[name], utc=True, format="ISO8601", errors="coerce").dt.as_unit("ns")
            frame[name] = pd.Series(instants.array.asi8, index=frame.index, dtype=object).where(instants.notna(), None)
    return frame
