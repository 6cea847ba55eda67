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
from hub.storage import HUB_SCHEMA, LANDING_SCHEMA, table_exists
from quality.identifiers import IDENTIFIER_KINDS, canonical, keyed_hash
from quality.tables import landed_tables

S = HUB_SCHEMA


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


def expanding(sql: str, params: dict[str, list[str]]) -> sa.TextClause:
    """A text clause whose list parameters expand into IN lists (empty lists match nothing)."""
    used = set(re.findall(r":(\w+)", sql))
    lists = (sa.bindparam(name, expanding=True, type_=sa.String) for name in params if name in used)
    return sa.text(sql).bindparams(*lists)


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
            sa.text(f"SELECT customer_id FROM {S}.golden_customer WHERE customer_id = :c"), {"c": current}
        ).all()
        return [row[0] for row in found]
    if kind == "record":
        condition, params = "(x.source_system || ':' || x.source_key) = :v", {"v": text}
    else:
        condition, params = f"r.{kind} = :v", {"v": text}
    rows = connection.execute(
        sa.text(
            f"SELECT DISTINCT x.customer_id FROM {S}.customer_xref x JOIN {S}.source_record r "
            f"ON r.unique_id = (x.source_system || ':' || x.source_key) WHERE {condition} ORDER BY 1"
        ),
        params,
    ).all()
    return [row[0] for row in rows]


def select(connection: sa.Connection, sql: str, params: dict[str, list[str]]) -> pd.DataFrame:
    """A query whose list parameters expand, as a frame."""
    result = connection.execute(expanding(sql, params), params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def former_ids(connection: sa.Connection, customer_ids: list[str]) -> list[str]:
    """Every ID that was merged, directly or through others, into one of ``customer_ids``."""
    found: list[str] = []
    frontier = list(customer_ids)
    while frontier:
        merged = select(
            connection,
            f"SELECT DISTINCT customer_id FROM {S}.customer_id_history "
            "WHERE event = 'merged_into' AND related_id IN :ids",
            {"ids": frontier},
        )["customer_id"]
        frontier = [i for i in merged if i not in found and i not in customer_ids]
        found += frontier
    return sorted(found)


def person(connection: sa.Connection, customer_ids: list[str], key: bytes) -> Person:
    """Everything that identifies the customers: records, emails, phones, earlier IDs, pseudonyms, requests."""
    records = select(
        connection,
        f"SELECT x.source_system || ':' || x.source_key AS unique_id, r.email, r.phone "
        f"FROM {S}.customer_xref x LEFT JOIN {S}.source_record r "
        f"ON r.unique_id = (x.source_system || ':' || x.source_key) WHERE x.customer_id IN :customers",
        {"customers": list(customer_ids)},
    )
    corrected = select(
        connection,
        f"SELECT attribute, value FROM {S}.rectification WHERE customer_id IN :customers "
        "AND attribute IN ('email', 'phone')",
        {"customers": list(customer_ids)},
    )
    emails = {*records["email"].dropna(), *corrected.loc[corrected["attribute"] == "email", "value"]}
    phones = {*records["phone"].dropna(), *corrected.loc[corrected["attribute"] == "phone", "value"]}
    esp_keys = [u.split(":", 1)[1] for u in records["unique_id"] if u.startswith("esp:")]
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
        records=tuple(sorted(records["unique_id"])),
        emails=tuple(sorted(emails)),
        phones=tuple(sorted(phones)),
        esp_emails=tuple(sorted(esp_emails)),
        former_ids=tuple(earlier),
    )
    refs = sorted({r for kind, value in found.identifiers() if (r := keyed_hash(key, kind, value))})
    requests = select(
        connection,
        f"SELECT request_id FROM {S}.dsr_request WHERE customer_id IN :customers OR subject_ref IN :refs",
        {"customers": found.all_ids, "refs": refs},
    )
    return replace(found, refs=tuple(refs), requests=tuple(sorted(requests["request_id"])))
