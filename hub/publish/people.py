"""What the hub knows that publishing needs: the tools' keys of each customer, who may be published, and
which tags the email platform held before the hub.

Read from the hub's own tables in one go, before planning: the crosswalk (each tool's keys), the golden
records (contacts for ad lists), subject flags (restricted and objecting people are published nowhere)
and consent state (for destinations that require a purpose). The email platform's tags come from its
last landed copy, so that a tag a member already had is adopted rather than claimed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd
import sqlalchemy as sa

from hub import storage
from hub.storage import HUB_SCHEMA, LANDING_SCHEMA

S = HUB_SCHEMA
KEY_COLUMNS = ["customer_id", "target"]
TAG_COLUMNS = ["audience", "target"]


def _no_tags() -> pd.DataFrame:
    return pd.DataFrame(columns=TAG_COLUMNS)


@dataclass(frozen=True)
class Known:
    golden: pd.DataFrame  # customer_id, email, phone
    records: pd.DataFrame  # source_system, customer_id, target
    flagged: frozenset[str]
    granted: dict[str, frozenset[str]] = field(default_factory=dict)  # purpose -> customers who granted it
    tags: pd.DataFrame = field(default_factory=_no_tags)  # audience (the tag's name), target (member id)

    def keys(self, tool: str) -> pd.DataFrame:
        """(customer_id, target) of a tool: its records' keys, or the customer ID itself for ad lists."""
        if tool == "ads":
            ids = self.golden["customer_id"]
            return pd.DataFrame({"customer_id": ids, "target": ids})
        return self.records.loc[self.records["source_system"] == tool, KEY_COLUMNS].reset_index(drop=True)

    @cached_property
    def _unflagged(self) -> frozenset[str]:
        return frozenset(self.golden["customer_id"]) - self.flagged

    def eligible(self, purpose: str | None) -> frozenset[str]:
        """Customers who may be published: known, not restricted or objecting, and with ``purpose`` granted."""
        return self._unflagged & self.granted.get(purpose, frozenset()) if purpose else self._unflagged


def read_known(connection: sa.Connection, purposes: set[str], with_contacts: bool, with_tags: bool) -> Known:
    contacts = "email, phone" if with_contacts else "NULL AS email, NULL AS phone"
    golden = storage.read_frame(connection, f"SELECT customer_id, {contacts} FROM {S}.golden_customer")
    records = storage.read_frame(
        connection,
        f"SELECT source_system, customer_id, source_key AS target FROM {S}.customer_xref "
        "WHERE source_system IN ('esp', 'webshop', 'loyalty') AND source_key NOT LIKE 'order:%'",
    )
    flagged = storage.read_frame(connection, f"SELECT DISTINCT customer_id FROM {S}.subject_flag")
    # One read without parameters, which DuckDB hands over natively, rather than one per purpose.
    grants = storage.read_frame(connection, f"SELECT purpose, customer_id FROM {S}.consent_state WHERE granted")
    granted = {p: frozenset(grants.loc[grants["purpose"] == p, "customer_id"].astype(str)) for p in sorted(purposes)}
    return Known(
        golden=golden.astype({"customer_id": str}),
        records=records.astype(str),
        flagged=frozenset(flagged["customer_id"].astype(str)),
        granted=granted,
        tags=landed_tags(connection) if with_tags else _no_tags(),
    )


def landed_tags(connection: sa.Connection) -> pd.DataFrame:
    """(audience = tag name, target = member id) of every tag in the email platform's last landed copy."""
    if not {"id", "tags"} <= storage.table_columns(connection, LANDING_SCHEMA, "esp_member"):
        return _no_tags()
    # Most members have no tag: only lists with something in them are read (and parsed here, one by one).
    tagged = storage.read_frame(
        connection,
        f"SELECT id, CAST(tags AS VARCHAR) AS tags FROM {LANDING_SCHEMA}.esp_member "
        "WHERE tags IS NOT NULL AND CAST(tags AS VARCHAR) NOT IN ('[]', 'null')",
    )
    pairs = []
    for member, tags in zip(tagged["id"], tagged["tags"], strict=True):
        listed = json.loads(tags)
        pairs += [(t["name"], str(member)) for t in listed or () if isinstance(t, dict) and "name" in t]
    return pd.DataFrame(pairs, columns=TAG_COLUMNS)
