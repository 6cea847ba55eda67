"""One golden customer as a steward sees it: its values, sources, lineage and ID history."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from hub.access.acting import Reader
from hub.golden_store import resolve
from hub.review import SHOWN_FIELDS
from hub.storage import HUB_SCHEMA, read_frame

S = HUB_SCHEMA
SOURCE_COLUMNS = ["source_system", "source_key", *SHOWN_FIELDS, "updated_at"]


@dataclass(frozen=True)
class CustomerView:
    customer_id: str
    current_id: str  # where the asked-for ID lives now (itself, or the ID it was merged into)
    golden: dict | None
    sources: pd.DataFrame
    lineage: pd.DataFrame
    history: pd.DataFrame


def id_history(connection: sa.Connection, customer_id: str) -> pd.DataFrame:
    """Every event that names the ID, either as subject or as the related ID."""
    return read_frame(
        connection,
        f"SELECT customer_id, event, related_id, run_id, recorded_at FROM {S}.customer_id_history "
        "WHERE customer_id = :c OR related_id = :c ORDER BY recorded_at, customer_id",
        c=customer_id,
    )


def show(engine: sa.Engine, customer_id: str, reader: Reader) -> CustomerView:
    """The customer as ``reader`` may see them; parts the role may not read come back empty."""

    def part(connection: sa.Connection, table: str, where: str, **params) -> pd.DataFrame:
        """The rows of ``table`` if the role may read it and sees the columns ``where`` selects on."""
        keys = {"mdm.source_record": "unique_id"}.get(table, "customer_id")
        if not reader.may_read(table) or reader.role.column_access(table, keys) != "see":
            return pd.DataFrame()
        return reader.read(connection, table, where, **params)

    with engine.connect() as connection:
        current = resolve(connection, customer_id)
        golden = part(connection, "mdm.golden_customer", "customer_id = :c", c=current)
        sources = part(
            connection,
            "mdm.source_record",
            f"unique_id IN (SELECT source_system || ':' || source_key FROM {S}.customer_xref WHERE customer_id = :c)",
            c=current,
        )
        lineage = part(connection, "mdm.golden_lineage", "customer_id = :c", c=current)
        history = part(connection, "mdm.customer_id_history", "customer_id = :c OR related_id = :c", c=customer_id)
    shown = [c for c in SOURCE_COLUMNS if c in sources.columns]
    return CustomerView(
        customer_id,
        current,
        golden.iloc[0].to_dict() if not golden.empty else None,
        sources[shown].sort_values(["source_system", "source_key"]) if shown else sources,
        lineage.drop(columns=["customer_id"], errors="ignore").sort_values("attribute")
        if not lineage.empty
        else lineage,
        history.sort_values("recorded_at") if not history.empty else history,
    )
