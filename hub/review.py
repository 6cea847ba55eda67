"""The stewards' side of matching: the review queue, overrides, and the story of one customer."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from hub import golden_store as store
from hub.schema import customer_xref, match_override, match_pair, source_record
from hub.storage import read_frame
from transforms.matching.levels import LEVELS


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
        pair, decided = match_pair.c, match_override.c
        left, right = customer_xref.alias("l"), customer_xref.alias("r")
        joined = (
            match_pair.outerjoin(left, left.c.source_system + ":" + left.c.source_key == pair.left_id)
            .outerjoin(right, right.c.source_system + ":" + right.c.source_key == pair.right_id)
            .outerjoin(match_override, sa.and_(decided.left_id == pair.left_id, decided.right_id == pair.right_id))
        )
        apart = sa.func.coalesce(left.c.customer_id, "") != sa.func.coalesce(right.c.customer_id, "")
        query = (
            sa.select(
                match_pair, left.c.customer_id.label("left_customer"), right.c.customer_id.label("right_customer")
            )
            .select_from(joined)
            .where(pair.outcome == "possible", decided.override_id.is_(None), apart)
            .order_by(pair.match_probability.desc(), pair.left_id, pair.right_id)
            .limit(limit)
        )
        pairs = read_frame(connection, query)
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
    record = source_record.c
    query = sa.select(record.unique_id, *(record[f] for f in SHOWN_FIELDS)).where(record.unique_id.in_(ids))
    result = connection.execute(query) if ids else []
    return {row["unique_id"]: dict(row) for row in (r._mapping for r in result)}


def decide(
    connection: sa.Connection, left_id: str, right_id: str, accept: bool, steward: str, reason: str | None
) -> str:
    """Record a steward's decision inside the caller's transaction; the next run obeys it."""
    known = connection.execute(
        sa.select(sa.func.count()).where(source_record.c.unique_id.in_([left_id, right_id]))
    ).scalar()
    if known != 2:
        raise LookupError("both records must exist (use the ids shown by `hub review`)")
    return store.add_override(connection, left_id, right_id, "must_link" if accept else "cannot_link", steward, reason)


def unmerge(connection: sa.Connection, customer_id: str, record_id: str, steward: str, reason: str | None) -> int:
    """Split a record off its customer: cannot-links to every other record of that customer."""
    xref = customer_xref.c
    unique_id = (xref.source_system + ":" + xref.source_key).label("unique_id")
    members = connection.execute(sa.select(unique_id).where(xref.customer_id == customer_id)).scalars().all()
    if record_id not in members:
        raise LookupError(f"{record_id} is not a record of {customer_id}")
    for other in members:
        if other != record_id:
            store.add_override(connection, record_id, other, "cannot_link", steward, reason)
    return len(members) - 1
