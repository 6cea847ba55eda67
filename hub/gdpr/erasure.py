"""Erasure (Art. 17): the person leaves every table of the hub, and stays out.

In one transaction, after the tools have been told (they need the keys the hub is about to drop):

1. the keyed hashes of every identifier go on the suppression list, so the next load holds the
   person's rows back even though the systems still have them;
2. every holding of the inventory loses the person's rows; landing rows removed after their load are
   counted per load, so that load accounting still balances;
3. invoices stay for bookkeeping, their customer number replaced by a pseudonym (and only finance
   and the DPO may read invoices at all);
4. other people's rows that merely carry the person's email or phone (a family sharing them) keep
   everything but that field;
5. the person's earlier requests keep their trail but lose the identifier and customer ID.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from hub.gdpr.inventory import Holding, holdings
from hub.gdpr.locate import Person, run, select
from hub.gdpr.report import quarantined_rows
from hub.gdpr.suppression import suppress
from hub.golden_store import RECORDS_STEP, keep_high_water
from hub.landed import PHONE_TAIL, contact_columns, email_form, forget_progress, phone_tail
from hub.storage import HUB_SCHEMA, LANDING_SCHEMA, existing_tables, table_columns
from quality import contract
from quality.canonical import normalise_phone
from quality.suppression import retained_pseudonym
from quality.tables import landed_table, landed_tables

S = HUB_SCHEMA
STAGING_SCHEMA = f"{LANDING_SCHEMA}_staging"

# The hub's own columns where another person's row may carry the erased person's email or phone.
HUB_CONTACTS: dict[str, dict[str, str]] = {
    f"{S}.source_record": {"email": "email", "phone": "phone"},
    f"{S}.golden_customer": {"email": "email", "phone": "phone"},
}
# What goes with a contact blanked in the hub's own rows: the pieces derived from it.
BLANKED_WITH: dict[str, dict[str, tuple[str, ...]]] = {f"{S}.source_record": {"email": ("email_local",)}}


def shared_contacts() -> dict[str, dict[str, str]]:
    """Every table's columns where someone else's row may carry the person's email or phone: the landing
    tables' as their descriptions say, and the hub's own."""
    landed = {f"{LANDING_SCHEMA}.{t.name}": contact_columns(t) for t in landed_tables() if t.contacts()}
    return {**landed, **HUB_CONTACTS}


@dataclass(frozen=True)
class Erased:
    rows_removed: dict[str, int]
    invoices_pseudonymised: int
    fields_blanked: int
    suppressed_identifiers: int


def erase(connection: sa.Connection, person: Person, key: bytes, request_id: str) -> Erased:
    """Remove the person from the hub inside the caller's transaction."""
    now = datetime.now(UTC)
    keep_high_water(connection)  # an erased person's ID is never issued again
    suppressed = suppress(connection, key, person.identifiers(), request_id, now)
    removed: dict[str, int] = {}
    per_load: Counter[tuple[str, str]] = Counter()
    pseudonymised = 0
    present = existing_tables(connection)
    for holding in holdings():
        if holding.name not in present:
            continue
        if holding.erasure == "delete":
            removed[holding.name] = _delete(connection, holding, person, key, per_load)
        elif holding.erasure == "pseudonymise" and holding.schema == LANDING_SCHEMA:
            pseudonymised += _pseudonymise(connection, landed_table(holding.table), person, key)
        elif holding.erasure == "pseudonymise":
            forgotten = {"requests": [*person.requests, request_id]}
            run(
                connection,
                f"UPDATE {S}.dsr_request SET identifier = NULL, customer_id = NULL, details = '{{}}' "
                "WHERE request_id IN :requests",
                forgotten,
            )
    _account(connection, per_load, request_id)
    blanked = _blank_shared_contacts(connection, person)
    _empty_staging(connection)
    return Erased(removed, pseudonymised, blanked, suppressed)


def _delete(
    connection: sa.Connection, holding: Holding, person: Person, key: bytes, per_load: Counter[tuple[str, str]]
) -> int:
    """Delete the person's rows of one holding; landing rows are counted per load and table first."""
    if holding.name == f"{LANDING_SCHEMA}.quarantine":
        rows = quarantined_rows(connection, person, key, own_only=False)
        if rows.empty:
            return 0
        per_load.update(zip(rows["_dlt_load_id"], rows["table_name"], strict=True))
        ids = {"ids": rows["quarantine_id"].tolist()}
        run(connection, f"DELETE FROM {holding.name} WHERE quarantine_id IN :ids", ids)
        return len(rows)
    params = person.params
    if holding.schema == LANDING_SCHEMA:
        loads = select(connection, f"SELECT _dlt_load_id FROM {holding.name} WHERE {holding.find}", params)
        per_load.update((load_id, holding.table) for load_id in loads["_dlt_load_id"])
    result = run(connection, f"DELETE FROM {holding.name} WHERE {holding.find}", params)
    return result.rowcount or 0


def _account(connection: sa.Connection, per_load: Counter[tuple[str, str]], request_id: str) -> None:
    """Record removed landing rows per load, so that each load still accounts for every row it read."""
    for (load_id, table), count in per_load.items():
        connection.execute(
            sa.text(
                f"INSERT INTO {S}.landing_erasure (load_id, table_name, request_id, rows_erased) "
                "VALUES (:l, :t, :r, :n)"
            ),
            {"l": load_id, "t": table, "r": request_id, "n": int(count)},
        )


def _pseudonymise(connection: sa.Connection, table: contract.LandedTable, person: Person, key: bytes) -> int:
    """Keep the rows the law keeps (invoices), with the person's key replaced by a stable pseudonym."""
    changed = 0
    for link in table.links:
        retained = contract.column(link.key)
        if link.by != "record" or retained not in table.retained:
            continue
        for value in person.keys(link.system):
            changed += (
                connection.execute(
                    sa.text(f"UPDATE {LANDING_SCHEMA}.{table.name} SET {retained} = :p WHERE {retained} = :c"),
                    {"p": retained_pseudonym(key, f"{link.system}:{value}"), "c": value},
                ).rowcount
                or 0
            )
    return changed


def _blank_shared_contacts(connection: sa.Connection, person: Person) -> int:
    """Blank the person's emails and phones wherever they remain in someone else's rows.

    A landing row blanked here keeps the load that wrote it, so the source records step, which reads only
    rows of newer loads, is told to read that table whole again (``forget_progress``): the record is then
    standardised from its blanked row, as a reload would have it."""
    emails = sorted({*person.emails, *person.esp_emails})
    phones = sorted(person.phones)
    blanked: Counter[str] = Counter()
    for table, columns in shared_contacts().items():
        schema, name = table.split(".")
        present = table_columns(connection, schema, name)
        for column, kind in columns.items():
            if column not in present:
                continue
            if table in HUB_CONTACTS:  # the hub keeps contacts in their standard forms: equal or not
                values = {"values": emails if kind == "email" else phones}
                cleared = ", ".join(f"{c} = NULL" for c in (column, *BLANKED_WITH.get(table, {}).get(column, ())))
                sql = f"UPDATE {table} SET {cleared} WHERE {column} IN :values"
                blanked[table] += run(connection, sql, values).rowcount or 0
            elif kind == "email" and emails:
                sql = f"UPDATE {table} SET {column} = NULL WHERE {email_form(column)} IN :emails"
                blanked[table] += run(connection, sql, {"emails": emails}).rowcount or 0
            elif kind == "phone":
                blanked[table] += _blank_phones(connection, table, column, phones)
    landing = [table.split(".")[1] for table, count in blanked.items() if count and table.startswith(LANDING_SCHEMA)]
    forget_progress(connection, RECORDS_STEP, landing)
    return sum(blanked.values())


def _blank_phones(connection: sa.Connection, table: str, column: str, phones: list[str]) -> int:
    """Phones are written every which way: find candidates by their last digits (``phone_tail``, which
    PostgreSQL answers from an index), confirm by E.164."""
    if not phones:
        return 0
    candidates = run(
        connection,
        f"SELECT DISTINCT {column} FROM {table} WHERE {phone_tail(column)} IN :tails",
        {"tails": sorted({phone[-PHONE_TAIL:] for phone in phones})},
    ).scalars()
    same = [value for value in candidates if normalise_phone(value) in phones]
    if not same:
        return 0
    sql = f"UPDATE {table} SET {column} = NULL WHERE {column} IN :same"
    return run(connection, sql, {"same": same}).rowcount or 0


def _empty_staging(connection: sa.Connection) -> None:
    """dlt's staging copies of the last merge are transient: empty them rather than search them."""
    tables = connection.execute(
        sa.text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s AND table_type = 'BASE TABLE'"
        ),
        {"s": STAGING_SCHEMA},
    ).scalars()
    for table in list(tables):
        if not table.startswith("_dlt_"):
            connection.execute(sa.text(f'DELETE FROM {STAGING_SCHEMA}."{table}"'))
