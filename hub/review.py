"""The stewards' side of matching: the review queue, overrides, and the story of one customer."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from hub import golden_store as store
from hub.storage import HUB_SCHEMA, read_frame
from transforms.matching.features import LEVELS

S = HUB_SCHEMA


@dataclass(frozen=True)
class Evidence:
    feature: str
    level: str
    weight: float


@dataclass(frozen=True)
class ReviewItem:
    left_id: str
    right_id: str
    left_customer: str | None
    right_customer: str | None
    probability: float
    weight: float
    evidence: list[Evidence]
    left: dict
    right: dict


def explain(row: pd.Series) -> list[Evidence]:
    """Which features agreed and how much each one weighed, strongest first."""
    evidence = []
    for feature, names in LEVELS.items():
        level = int(row[f"level_{feature}"])
        label = "missing (not counted)" if level < 0 else names[level]
        evidence.append(Evidence(feature, label, float(row[f"weight_{feature}"])))
    return sorted(evidence, key=lambda e: -abs(e.weight))


# What a steward sees of each record of a pair, in this order.
SHOWN_FIELDS = [
    "first_name_display",
    "last_name_display",
    "email",
    "phone",
    "birth_date",
    "birth_month_day",
    "street_display",
    "postal_code",
    "city_display",
]


def review_queue(engine: sa.Engine, limit: int = 20) -> list[ReviewItem]:
    """Possible matches that sit in different customers and no steward has decided yet."""
    with engine.connect() as connection:
        pairs = read_frame(
            connection,
            f"""
            SELECT p.*, l.customer_id AS left_customer, r.customer_id AS right_customer
            FROM {S}.match_pair p
            LEFT JOIN {S}.customer_xref l ON l.source_system || ':' || l.source_key = p.left_id
            LEFT JOIN {S}.customer_xref r ON r.source_system || ':' || r.source_key = p.right_id
            LEFT JOIN {S}.match_override o ON o.left_id = p.left_id AND o.right_id = p.right_id
            WHERE p.outcome = 'possible' AND o.override_id IS NULL
              AND coalesce(l.customer_id, '') <> coalesce(r.customer_id, '')
            ORDER BY p.match_probability DESC, p.left_id, p.right_id
            LIMIT :limit
            """,
            limit=limit,
        )
        ids = sorted(set(pairs["left_id"]) | set(pairs["right_id"]))
        records = _records(connection, ids)
    return [
        ReviewItem(
            r.left_id,
            r.right_id,
            r.left_customer,
            r.right_customer,
            float(r.match_probability),
            float(r.match_weight),
            explain(r),
            records.get(r.left_id, {}),
            records.get(r.right_id, {}),
        )
        for _, r in pairs.iterrows()
    ]


def _records(connection: sa.Connection, ids: list[str]) -> dict[str, dict]:
    query = sa.text(
        f"SELECT unique_id, {', '.join(SHOWN_FIELDS)} FROM {S}.source_record WHERE unique_id IN :ids"
    ).bindparams(sa.bindparam("ids", expanding=True))
    result = connection.execute(query, {"ids": ids}) if ids else []
    return {row["unique_id"]: dict(row) for row in (r._mapping for r in result)}


def decide(
    connection: sa.Connection, left_id: str, right_id: str, accept: bool, steward: str, reason: str | None
) -> str:
    """Record a steward's decision inside the caller's transaction; the next run obeys it."""
    known = read_frame(
        connection,
        f"SELECT count(*) AS n FROM {S}.source_record WHERE unique_id IN (:a, :b)",
        a=left_id,
        b=right_id,
    )["n"].iloc[0]
    if known != 2:
        raise LookupError("both records must exist (use the ids shown by `hub review`)")
    return store.add_override(connection, left_id, right_id, "must_link" if accept else "cannot_link", steward, reason)


def unmerge(connection: sa.Connection, customer_id: str, record_id: str, steward: str, reason: str | None) -> int:
    """Split a record off its customer: cannot-links to every other record of that customer."""
    members = read_frame(
        connection,
        f"SELECT source_system || ':' || source_key AS unique_id FROM {S}.customer_xref WHERE customer_id = :c",
        c=customer_id,
    )["unique_id"].tolist()
    if record_id not in members:
        raise LookupError(f"{record_id} is not a record of {customer_id}")
    for other in members:
        if other != record_id:
            store.add_override(connection, record_id, other, "cannot_link", steward, reason)
    return len(members) - 1
