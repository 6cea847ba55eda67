"""Every identity the landing area holds, as one standardised frame of source records.

The hub reads the raw identity fields of every person's record the tables' descriptions name
(``hub.landed.read_identities``: ERP customers, webshop accounts and guest orders, loyalty members,
email-platform members); here each becomes one source record whose ``unique_id`` is ``<system>:<key>``
with the key as the public crosswalk spells it, with display and comparison forms side by side.
"""

from __future__ import annotations

import sys
from functools import cache
from importlib.metadata import version

import pandas as pd

from quality import canonical
from quality.canonical import email_local_part, normalise_email, normalise_phone, repair
from transforms.code_digest import code_digest
from transforms.standardise import addresses, names, text
from transforms.standardise.addresses import normalise_postcode, normalise_street, street_name
from transforms.standardise.names import clean_name, fold_name
from transforms.standardise.text import fold, per_unique

LIBRARIES = ("phonenumbers", "email-validator", "ftfy")  # their data and rules shape the standard forms too


@cache
def standardisation_digest() -> str:
    """A digest of what turns raw fields into standard forms: this module's and its helpers' code and the
    versions of the libraries they call. A record is standardised again when its raw fields change or when
    this does, so an upgrade of either never leaves records in an older standard form."""
    modules = (sys.modules[__name__], canonical, addresses, names, text)
    return code_digest(modules, *(f"{lib}=={version(lib)}" for lib in LIBRARIES))


def unique_ids(identities: pd.DataFrame) -> pd.Series:
    """Each raw identity's record id, ``<system>:<key>``."""
    return identities["source_system"] + ":" + identities["source_key"]


def raw_fingerprints(identities: pd.DataFrame) -> pd.Series:
    """Per raw identity row (as ``hub.landed.read_identities`` gives them), a hash of its fields and of the
    standardisation: equal to the stored one, the record's standard forms are still right.

    The row's ``updated_at`` is left out: it is the last time anything touched the row in its system (the
    hub's own tag write moves an email-platform member's), not a change of what the record says. A record
    is written again only when its content changed, so it keeps the time of that change, which
    survivorship's recency reads."""
    raw = identities.drop(columns="updated_at").astype(str).assign(standardisation=standardisation_digest())
    return pd.util.hash_pandas_object(raw, index=False).astype(str)


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
            "unique_id": unique_ids(identities),
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
    births = per_unique(identities["birth_date"], _birth)
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
    deleted = identities["soft_deleted"] if "soft_deleted" in identities else pd.Series(False, index=identities.index)
    out["soft_deleted"] = deleted.astype(bool).to_numpy()
    return out.sort_values("unique_id", kind="stable").reset_index(drop=True)
