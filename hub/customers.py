"""One golden customer as a steward sees it: its values, sources, lineage and ID history."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from hub.storage import HUB_SCHEMA, read_frame

S = HUB_SCHEMA


@dataclass(frozen=True)
class CustomerView:
    customer_id: str
    current_id: str  # where the asked-for ID lives now (itself, or the ID it was merged into)
    golden: dict | None
    sources: pd.DataFrame
    lineage: pd.DataFrame
    history: pd.DataFrame


def resolve(connection: sa.Connection, customer_id: str) -> str:
    """Follow 'merged_into' events to the ID that holds the customer now."""
    seen = {customer_id}
    current = customer_id
    while True:
        merged = read_frame(
            connection,
            f"SELECT related_id FROM {S}.customer_id_history WHERE customer_id = :c AND event = 'merged_into' "
            "ORDER BY recorded_at DESC LIMIT 1",
            c=current,
        )
        if merged.empty or merged["related_id"].iloc[0] in seen:
            return current
        current = merged["related_id"].iloc[0]
        seen.add(current)


def id_history(connection: sa.Connection, customer_id: str) -> pd.DataFrame:
    """Every event that names the ID, either as subject or as the related ID."""
    return read_frame(
        connection,
        f"SELECT customer_id, event, related_id, run_id, recorded_at FROM {S}.customer_id_history "
        "WHERE customer_id = :c OR related_id = :c ORDER BY recorded_at, customer_id",
        c=customer_id,
    )


def show(engine: sa.Engine, customer_id: str) -> CustomerView:
    with engine.connect() as connection:
        current = resolve(connection, customer_id)
        golden = read_frame(connection, f"SELECT * FROM {S}.golden_customer WHERE customer_id = :c", c=current)
        sources = read_frame(
            connection,
            f"""SELECT r.source_system, r.source_key, r.first_name_display, r.last_name_display, r.email, r.phone,
                       r.birth_date, r.birth_month_day, r.street_display, r.postal_code, r.updated_at
                FROM {S}.customer_xref x JOIN {S}.source_record r
                  ON r.source_system = x.source_system AND r.source_key = x.source_key
                WHERE x.customer_id = :c ORDER BY r.source_system, r.source_key""",
            c=current,
        )
        lineage = read_frame(
            connection,
            f"SELECT attribute, source_system, source_key, source_updated_at, rule, candidates "
            f"FROM {S}.golden_lineage WHERE customer_id = :c ORDER BY attribute",
            c=current,
        )
        history = id_history(connection, customer_id)
    return CustomerView(
        customer_id, current, golden.iloc[0].to_dict() if not golden.empty else None, sources, lineage, history
    )
