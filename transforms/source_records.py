"""Every identity the landing area holds, as one standardised frame of source records.

ERP customers, webshop accounts, webshop guest orders (their billing block is the only identity
they carry), loyalty members and email-platform members each become one source record whose
``unique_id`` is ``<system>:<key>`` with the key as the public crosswalk spells it.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from transforms.standardise.addresses import normalise_postcode, normalise_street, street_name
from transforms.standardise.contacts import email_local_part, normalise_email, normalise_phone
from transforms.standardise.names import clean_name, fold_name
from transforms.standardise.text import fold, per_unique, repair

LANDING = "landing"
IDENTITY_FIELDS = ("first_name", "last_name", "email", "phone", "birth", "street", "postal_code", "city")

# For each system: the landing table, its key, a row filter, and the columns each field comes from
# (the first non-null of them wins; none means the system does not hold that field).
_SOURCES: dict[str, tuple[str, str, str, dict[str, tuple[str, ...]]]] = {
    "erp": (
        "erp_customer",
        "customer_no",
        "NOT is_deleted",
        {
            "first_name": ("first_name",),
            "last_name": ("last_name",),
            "email": ("email",),
            "phone": ("phone",),
            "birth": ("birth_date",),
            "street": ("street_address",),
            "postal_code": ("postal_code",),
            "city": ("city",),
            "updated_at": ("updated_at",),
        },
    ),
    "webshop": (
        "webshop_customer",
        "id",
        "1 = 1",
        {
            "first_name": ("first_name", "billing__first_name"),
            "last_name": ("last_name", "billing__last_name"),
            "email": ("email", "billing__email"),
            "phone": ("billing__phone",),
            "birth": (),
            "street": ("billing__address_1",),
            "postal_code": ("billing__postcode",),
            "city": ("billing__city",),
            "updated_at": ("date_modified_gmt",),
        },
    ),
    "webshop_guest": (
        "webshop_order",
        "'order:' || CAST(id AS VARCHAR)",
        "customer_id = 0",
        {
            "first_name": ("billing__first_name",),
            "last_name": ("billing__last_name",),
            "email": ("billing__email",),
            "phone": ("billing__phone",),
            "birth": (),
            "street": ("billing__address_1",),
            "postal_code": ("billing__postcode",),
            "city": ("billing__city",),
            "updated_at": ("date_modified_gmt",),
        },
    ),
    "loyalty": (
        "loyalty_member",
        "jasennumero",
        "1 = 1",
        {
            "first_name": ("etunimi",),
            "last_name": ("sukunimi",),
            "email": ("sahkoposti",),
            "phone": ("puhelin",),
            "birth": ("syntymaaika",),
            "street": (),
            "postal_code": ("postinumero",),
            "city": (),
            "updated_at": ("lupa_muutettu", "liittynyt"),
        },
    ),
    "esp": (
        "esp_member",
        "id",
        "1 = 1",
        {
            "first_name": ("merge_fields__fname",),
            "last_name": ("merge_fields__lname",),
            "email": ("email_address",),
            "phone": ("merge_fields__phone",),
            "birth": ("merge_fields__birthday",),
            "street": (),
            "postal_code": (),
            "city": (),
            "updated_at": ("last_changed",),
        },
    ),
}


def _first_present(candidates: tuple[str, ...], columns: set[str]) -> str:
    """A coalesce of the candidate columns that were landed (dlt creates no all-null column)."""
    present = [c for c in candidates if c in columns]
    if not present:
        return "NULL"
    return present[0] if len(present) == 1 else f"coalesce({', '.join(present)})"


def landing_tables() -> set[str]:
    """The landing tables identities are read from."""
    return {table for table, *_ in _SOURCES.values()}


def read_identities(connection: sa.Connection, landed_columns: dict[str, set[str]]) -> pd.DataFrame:
    """Raw identity fields of every source record, as text, straight from the landing tables.

    ``landed_columns`` holds the columns each landing table has (no entry: not landed yet).
    """
    frames = []
    for label, (table, key, where, fields) in _SOURCES.items():
        columns = landed_columns.get(table)
        if not columns:
            continue
        selected = ", ".join(
            f"CAST({_first_present(candidates, columns)} AS VARCHAR) AS {name}" for name, candidates in fields.items()
        )
        sql = f"SELECT CAST({key} AS VARCHAR) AS source_key, {selected} FROM {LANDING}.{table} WHERE {where}"
        frame = pd.DataFrame(connection.execute(sa.text(sql)).mappings().all())
        if frame.empty:
            continue
        frame.insert(0, "source_system", "webshop" if label == "webshop_guest" else label)
        frames.append(frame)
    columns = ["source_system", "source_key", *IDENTITY_FIELDS, "updated_at"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _birth(text: str) -> tuple[str | None, str | None]:
    """(ISO date, 'MM-DD') from a full date or from the email platform's 'MM/DD'."""
    text = text.strip()
    if len(text) == 5 and text[2] == "/":
        month, day = text.split("/")
        return None, f"{month}-{day}" if month.isdigit() and day.isdigit() else None
    try:
        parsed = pd.Timestamp(text[:10])
    except ValueError:
        return None, None
    if pd.isna(parsed):
        return None, None
    return parsed.date().isoformat(), f"{parsed.month:02d}-{parsed.day:02d}"


def _display(text: str) -> str | None:
    """Repaired text for people to read; all-caps or all-lower input gets title case."""
    repaired = repair(text)
    if repaired.isupper() or repaired.islower():
        repaired = repaired.title()
    return repaired or None


def standardise(identities: pd.DataFrame) -> pd.DataFrame:
    """The matching frame: one row per source record, display and comparison forms side by side."""
    out = pd.DataFrame(
        {
            "unique_id": identities["source_system"] + ":" + identities["source_key"],
            "source_system": identities["source_system"],
            "source_key": identities["source_key"],
        }
    )
    for part in ("first_name", "last_name"):
        out[f"{part}_display"] = per_unique(identities[part], clean_name)
        out[part] = per_unique(identities[part], fold_name)
    out["email"] = per_unique(identities["email"], normalise_email)
    out["email_local"] = per_unique(out["email"], email_local_part)
    out["phone"] = per_unique(identities["phone"], normalise_phone)
    births = per_unique(identities["birth"], _birth)
    out["birth_date"] = pd.to_datetime(births.map(lambda b: b[0] if b else None), errors="coerce").astype(
        "datetime64[ns]"
    )
    out["birth_month_day"] = births.map(lambda b: b[1] if b else None)
    out["street_display"] = per_unique(identities["street"], _display)
    out["street"] = per_unique(identities["street"], normalise_street)
    out["street_name"] = per_unique(out["street"], street_name)
    out["postal_code"] = per_unique(identities["postal_code"], normalise_postcode)
    out["city_display"] = per_unique(identities["city"], _display)
    out["city"] = per_unique(identities["city"], lambda c: fold(repair(c)) or None)
    out["updated_at"] = pd.to_datetime(identities["updated_at"], errors="coerce", utc=True)
    return out.sort_values("unique_id", kind="stable").reset_index(drop=True)
