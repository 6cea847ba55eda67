"""Finding a person by any identifier, through the crosswalk, and everything that identifies them.

A request names the person by an email, a phone number, a customer ID (an old one is followed to
where it was merged) or one system's key (``erp:C0100234``). The crosswalk then gives every record
of that customer in every system, and those records give every email and phone the hub holds for
them: together they are what an access report looks up and what an erasure removes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pandas as pd
import sqlalchemy as sa

from hub.golden_store import resolve
from hub.schema import customer_id_history, customer_xref, dsr_request, golden_customer, rectification, source_record
from hub.storage import LANDING_SCHEMA, read_frame, table_exists
from quality.identifiers import IDENTIFIER_KINDS, canonical, keyed_hash
from quality.tables import landed_tables


class SubjectNotFound(LookupError):
    """No customer carries the identifier (the message never repeats the identifier)."""


@dataclass(frozen=True)
class Person:
    customer_ids: tuple[str, ...]
    records: tuple[str, ...]  # 'system:key' of every source record
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    esp_emails: tuple[str, ...] = ()  # addresses the email platform may key the person's member or activity by
    refs: tuple[str, ...] = ()  # pseudonyms of every identifier (audit log, requests)
    requests: tuple[str, ...] = ()
    former_ids: tuple[str, ...] = ()  # customer IDs merged into the current ones

    @property
    def all_ids(self) -> list[str]:
        return [*self.customer_ids, *self.former_ids]

    def identifiers(self) -> list[tuple[str, str]]:
        """Every (kind, value) that names the person: what an erasure suppresses and a report looks for."""
        return [
            *(("record", r) for r in self.records),
            *(("email", e) for e in sorted({*self.emails, *self.esp_emails})),
            *(("phone", p) for p in self.phones),
            *(("customer", c) for c in self.all_ids),
        ]

    def keys(self, system: str) -> list[str]:
        prefix = f"{system}:"
        return [r[len(prefix) :] for r in self.records if r.startswith(prefix)]

    @property
    def params(self) -> dict[str, list[str]]:
        """The bound lists an inventory condition may use: per system its keys (``:erp``) and the addresses
        it may key the person by (``:esp_emails``), for every described system and any the person is in."""
        systems = {t.system for t in landed_tables()} | {r.split(":", 1)[0] for r in self.records}
        return {
            "customers": self.all_ids,
            "unique_ids": list(self.records),
            "refs": list(self.refs),
            "requests": list(self.requests),
            **{system: self.keys(system) for system in systems},
            **{f"{system}_emails": list(self.esp_emails) for system in systems},
        }


def run(connection: sa.Connection, sql: str, params: dict[str, list[str]]) -> sa.CursorResult:
    """Execute ``sql`` with its list parameters expanded into IN lists; an empty list matches nothing.

    An empty list is bound as a single NULL (``x IN (NULL)`` is never true) rather than left to SQLAlchemy,
    whose empty-set subquery PostgreSQL cannot plan around: looking a person up by system and key, it read
    every row of each system the person had no record in."""
    used = set(re.findall(r":(\w+)", sql))
    filled = {name: list(values) or [None] for name, values in params.items() if name in used}
    lists = (sa.bindparam(name, expanding=True, type_=sa.String) for name in filled)
    return connection.execute(sa.text(sql).bindparams(*lists), filled)


def find_customers(connection: sa.Connection, kind: str, value: str) -> list[str]:
    """The current customer IDs that carry the identifier (more than one when e.g. a family shares an email)."""
    if kind not in IDENTIFIER_KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}; use one of {', '.join(IDENTIFIER_KINDS)}")
    text = canonical(kind, value)
    if text is None:
        raise SubjectNotFound(f"the {kind} given is not a valid {kind}")
    if kind == "customer":
        current = resolve(connection, text)
        found = connection.execute(
            sa.select(golden_customer.c.customer_id).where(golden_customer.c.customer_id == current)
        )
        return list(found.scalars())
    xref = customer_xref.c
    if kind == "record":
        keys = [tuple(text.partition(":")[::2])]
    else:
        record = source_record.c
        keys = connection.execute(sa.select(record.source_system, record.source_key).where(record[kind] == text)).all()
    # One lookup of the crosswalk's key per record: point queries both stores answer from an index (DuckDB does
    # not use its indexes for a join, and a join on a key put together from two columns reads every row).
    owner = sa.select(xref.customer_id).where(
        xref.source_system == sa.bindparam("system"), xref.source_key == sa.bindparam("key")
    )
    found = set()
    for system, key in keys:
        found.update(connection.execute(owner, {"system": system, "key": key}).scalars())
    return sorted(found)


def select(connection: sa.Connection, sql: str, params: dict[str, list[str]]) -> pd.DataFrame:
    """A query whose list parameters expand, as a frame."""
    result = run(connection, sql, params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def select_rows(connection: sa.Connection, sql: str, params: dict[str, list[str]]) -> list[dict]:
    """A query whose list parameters expand, as plain rows (one person's few rows need no frame)."""
    return [dict(row) for row in run(connection, sql, params).mappings()]


def former_ids(connection: sa.Connection, customer_ids: list[str]) -> list[str]:
    """Every ID that was merged, directly or through others, into one of ``customer_ids``."""
    found: list[str] = []
    frontier = list(customer_ids)
    while frontier:
        history = customer_id_history.c
        merged = connection.execute(
            sa.select(history.customer_id)
            .distinct()
            .where(history.event == "merged_into", history.related_id.in_(frontier))
        ).scalars()
        frontier = [i for i in merged if i not in found and i not in customer_ids]
        found += frontier
    return sorted(found)


def person(connection: sa.Connection, customer_ids: list[str], key: bytes) -> Person:
    """Everything that identifies the customers: records, emails, phones, earlier IDs, pseudonyms, requests."""
    xref = customer_xref.c
    held = connection.execute(
        sa.select(xref.source_system, xref.source_key).where(xref.customer_id.in_(list(customer_ids)))
    ).all()
    unique_ids = sorted(f"{system}:{source_key}" for system, source_key in held)
    record = source_record.c
    contacts = connection.execute(sa.select(record.email, record.phone).where(record.unique_id.in_(unique_ids))).all()
    fix = rectification.c
    corrected = connection.execute(
        sa.select(fix.attribute, fix.value).where(
            fix.customer_id.in_(list(customer_ids)), fix.attribute.in_(["email", "phone"])
        )
    ).all()
    emails = {e for e, _ in contacts if e is not None} | {v for a, v in corrected if a == "email"}
    phones = {p for _, p in contacts if p is not None} | {v for a, v in corrected if a == "phone"}
    esp_keys = [source_key for system, source_key in held if system == "esp"]
    esp_emails: set[str] = set(emails)
    if esp_keys and table_exists(connection, LANDING_SCHEMA, "esp_member"):
        found = select(
            connection,
            f"SELECT DISTINCT lower(email_address) AS email FROM {LANDING_SCHEMA}.esp_member WHERE id IN :esp",
            {"esp": esp_keys},
        )
        esp_emails |= set(found["email"])
    earlier = former_ids(connection, list(customer_ids))
    found = Person(
        customer_ids=tuple(customer_ids),
        records=tuple(unique_ids),
        emails=tuple(sorted(emails)),
        phones=tuple(sorted(phones)),
        esp_emails=tuple(sorted(esp_emails)),
        former_ids=tuple(earlier),
    )
    refs = sorted({r for kind, value in found.identifiers() if (r := keyed_hash(key, kind, value))})
    request = dsr_request.c
    requests = read_frame(
        connection,
        sa.select(request.request_id).where(
            sa.or_(request.customer_id.in_(list(found.all_ids)), request.subject_ref.in_(refs))
        ),
    )
    return replace(found, refs=tuple(refs), requests=tuple(sorted(requests["request_id"])))
