"""The vocabulary of a landed table's description: everything the hub knows about a table, in one place.

A system's tables are described once (``quality/tables/<system>.py``): the pandera model of a row, its
key, which rows are a person's records and where each identity field sits in the raw row, which rows
belong to a person's record in some system, the columns that state consent, which rows are sales (amount,
time, status), the personal-data category of every landed column, what an erasure does to a row, and why
the hub holds it. Everything that used to repeat this knowledge derives from the descriptions: source
records for matching, the suppression screen, erasure, access reports and the inventory, consent events,
masking, the landing part of the access policy, purchases for segments.

Fields are named by their path in the raw row as the system sends it (``("billing", "email")``); the
landed column is the same path flattened the way dlt does (``billing__email``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandera.pandas as pa

Path = tuple[str, ...]
Kind = Literal["first_name", "last_name", "email", "phone", "birth_date", "street", "postal_code", "city"]
# The identity fields a source record holds, which are also the golden record's attributes.
IDENTITY_KINDS: tuple[Kind, ...] = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "street",
    "postal_code",
    "city",
)
CONTACT_KINDS = frozenset({"email", "phone"})  # what a relative's row may share with the person
PURCHASE_KINDS = frozenset({"sale", "return"})
# Categories of columns that say nothing about who a person is: shown unmasked in quarantine listings.
NOT_IDENTIFYING = frozenset({"record_key", "consent", "profile", "transaction", "business", "technical"})
DLT_COLUMNS = ("_dlt_load_id", "_dlt_id")


def column(path: Path) -> str:
    """The landed column of a raw field: its path flattened as dlt names nested fields."""
    return "__".join(part.lower() for part in path)


def value_at(row: Mapping[str, Any], path: Path) -> Any:
    """The raw field at ``path`` (None when any step is missing)."""
    value: Any = row
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True)
class Condition:
    """A raw field equal to a value (``customer_id`` = 0 for a guest order)."""

    path: Path
    equals: Any

    def holds(self, row: Mapping[str, Any]) -> bool:
        return value_at(row, self.path) == self.equals


@dataclass(frozen=True)
class Link:
    """A row leads to a person's record ``system:<prefix><key>`` (or, ``by="email"``, to a person by the
    email address that system keys them by)."""

    system: str
    key: Path
    prefix: str = ""
    when: Condition | None = None  # only rows meeting it lead there
    unless: Condition | None = None  # rows meeting it do not
    by: Literal["record", "email"] = "record"

    def applies(self, row: Mapping[str, Any]) -> bool:
        return (self.when is None or self.when.holds(row)) and (self.unless is None or not self.unless.holds(row))

    def record(self, row: Mapping[str, Any]) -> str | None:
        """``system:key`` of the record a raw row leads to, or None."""
        value = value_at(row, self.key)
        if self.by != "record" or value in (None, "") or not self.applies(row):
            return None
        return f"{self.system}:{self.prefix}{value}"


@dataclass(frozen=True)
class Records:
    """Rows that are a person's records: one source record each, with where every identity field sits.

    ``fields`` lists candidate paths per identity kind, the first non-empty one wins; a kind not listed is
    one the system does not hold. A row marked ``soft_deleted`` stays the person's record (its history,
    invoices included, stays with them) but gives no values to the golden record.
    """

    link: Link
    fields: Mapping[Kind, tuple[Path, ...]]
    updated_at: tuple[Path, ...]
    soft_deleted: Path | None = None

    def __post_init__(self) -> None:
        unknown = set(self.fields) - set(IDENTITY_KINDS)
        if unknown:
            raise ValueError(f"unknown identity kinds {sorted(unknown)}")


@dataclass(frozen=True)
class Sales:
    """Rows that are purchases: whose (the first of ``links`` that applies), how much, when, and what each is.

    ``kinds`` maps a status to what the row counts as: ``("sale",)``, ``("return",)`` (a credit note,
    its absolute amount returned), ``("sale", "return")`` (refunded: sale and refund cancel, the amount
    is a return); a status not listed is no purchase (cancelled). Without a status column a positive
    amount is a sale and a negative one a return (a refund at the till). Amounts are taken as absolute.
    """

    links: tuple[Link, ...]
    amount: Path
    at: Path
    status: Path | None = None
    kinds: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    items: Path | None = None  # the list of order lines, each with the product's ``name``

    def __post_init__(self) -> None:
        for status, kinds in self.kinds.items():
            if not kinds or set(kinds) - PURCHASE_KINDS:
                raise ValueError(f"status {status}: kinds must be sale and/or return")


@dataclass(frozen=True)
class Processing:
    """Why the hub holds the table's rows: the inventory's record of processing."""

    what: str
    purpose: str
    legal_basis: str
    retention: str
    source: str
    recipients: str


@dataclass(frozen=True)
class LandedTable:
    """One landed table, described once; see the module docstring for what derives from it."""

    name: str
    system: str
    model: type[pa.DataFrameModel]
    primary_key: str | tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]]  # personal-data category -> landed columns
    records: tuple[Records, ...] = ()
    belongs: tuple[Link, ...] = ()  # links of rows that are not records themselves (an invoice's customer)
    consent: tuple[str, ...] = ()  # landed columns that state consent, read by the consent ledger
    sales: Sales | None = None
    retained: tuple[str, ...] = ()  # erasure pseudonymises these key columns and keeps the row (bookkeeping)
    processing: Processing | None = None  # None: the rows are about no one (campaigns)
    portable: bool = True  # in the person's portable copy (Art. 20): what they gave or did in the system
    # A settled table holds facts that never change once written (every column is in the key) and that its
    # system can only give again whole per value of this column (a campaign's activity): landing leaves out
    # the rows it already holds instead of writing them again.
    settled_by: str | None = None

    def __post_init__(self) -> None:
        if self.settled_by is not None:
            keys, columns = set(self.key), set(self.model.to_schema().columns)
            if self.settled_by not in keys or not columns <= keys:
                raise ValueError(f"{self.name}: a settled table's key holds every column, {self.settled_by} too")
        seen: dict[str, str] = {}
        for category, columns in self.categories.items():
            for name in columns:
                if name in seen:
                    raise ValueError(f"{self.name}: column {name} is in {seen[name]} and {category}")
                seen[name] = category

    @property
    def key(self) -> list[str]:
        """The key's columns, in order."""
        return [self.primary_key] if isinstance(self.primary_key, str) else list(self.primary_key)

    @property
    def links(self) -> tuple[Link, ...]:
        """Every way a row leads to a person: as their record, or as something of their record."""
        return (*(r.link for r in self.records), *self.belongs)

    @property
    def column_categories(self) -> dict[str, str]:
        """Landed column -> category, dlt's own columns included."""
        named = {name: category for category, columns in self.categories.items() for name in columns}
        return {**named, **dict.fromkeys(DLT_COLUMNS, "technical")}

    @property
    def erasure(self) -> str:
        """What an erasure does to the person's rows: ``delete``, or ``pseudonymise`` the retained keys."""
        return "pseudonymise" if self.retained else "delete"

    def contacts(self) -> tuple[tuple[Path, str], ...]:
        """(path, 'email' | 'phone') of the fields where someone else's row may carry the person's contact.

        Every email and phone identity field, except a field that itself makes the row the person's own
        (an email the system keys its members by).
        """
        own = {link.key for link in self.links if link.by == "email"}
        found: dict[Path, str] = {}
        for records in self.records:
            for kind, paths in records.fields.items():
                if kind in CONTACT_KINDS:
                    found.update({path: kind for path in paths if path not in own})
        return tuple(found.items())

    def subject(self) -> Link | None:
        """The one link every row of the table has to a person's record (for the access policy), if any."""
        by_record = [link for link in self.links if link.by == "record"]
        plain = len(by_record) == 1 and not (by_record[0].prefix or by_record[0].when or by_record[0].unless)
        return by_record[0] if plain else None
