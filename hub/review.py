"""The stewards' side of matching: the review queue in the order a decision teaches most, the decisions
(overrides), and the decisions read back as labels for the model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from hub import golden_store as store
from hub.schema import customer_xref, match_model, match_override, match_pair, source_record
from hub.storage import read_frame
from transforms.matching.labels import Labels, corroborated, patterns, teaching_order
from transforms.matching.levels import LEVELS
from transforms.matching.model import MatchModel


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
    pattern_pending: int  # undecided pairs in the queue with this pair's levels: a decision corrects them all
    pattern_decided: int  # decided pairs with these levels already


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


def _pending(connection: sa.Connection, held_back: bool = False) -> pd.DataFrame:
    """Possible matches that sit in different customers and no steward has decided yet, with the
    number of records of each side's customer: those whose evidence is corroborated
    (``labels.corroborated``), or with ``held_back`` the others."""
    pair, decided = match_pair.c, match_override.c
    left, right = customer_xref.alias("l"), customer_xref.alias("r")
    joined = (
        match_pair.outerjoin(left, left.c.source_system + ":" + left.c.source_key == pair.left_id)
        .outerjoin(right, right.c.source_system + ":" + right.c.source_key == pair.right_id)
        .outerjoin(match_override, sa.and_(decided.left_id == pair.left_id, decided.right_id == pair.right_id))
    )
    apart = sa.func.coalesce(left.c.customer_id, "") != sa.func.coalesce(right.c.customer_id, "")
    query = (
        sa.select(match_pair, left.c.customer_id.label("left_customer"), right.c.customer_id.label("right_customer"))
        .select_from(joined)
        .where(pair.outcome == "possible", decided.override_id.is_(None), apart)
        .order_by(pair.left_id, pair.right_id)
    )
    pending = read_frame(connection, query)
    judged = corroborated(_levels(pending))
    pending = pending[~judged if held_back else judged].reset_index(drop=True)
    xref = customer_xref.c
    sizes = read_frame(
        connection, sa.select(xref.customer_id, sa.func.count().label("records")).group_by(xref.customer_id)
    ).set_index("customer_id")["records"]
    pending["records"] = sum(pending[f"{side}_customer"].map(sizes).fillna(1).astype(int) for side in ("left", "right"))
    return pending


def _levels(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[f"level_{f}" for f in LEVELS]].set_axis(list(LEVELS), axis=1)


def _decided_patterns(connection: sa.Connection) -> np.ndarray:
    """The level patterns of the pairs stewards have decided (those blocking proposed), once per pair."""
    pair, decided = match_pair.c, match_override.c
    on = sa.and_(decided.left_id == pair.left_id, decided.right_id == pair.right_id)
    columns = (pair.left_id, pair.right_id, *(pair[f"level_{f}"] for f in LEVELS))
    query = sa.select(*columns).distinct().select_from(match_pair.join(match_override, on))
    return patterns(_levels(read_frame(connection, query)))


def one_per_customer_pair(pending: pd.DataFrame, order: np.ndarray) -> np.ndarray:
    """``order`` (positions into ``pending``) keeping the first record pair of each two customers.

    One decision settles the two customers whichever pair it is taken on: an accept joins them, and a reject
    keeps them apart, since clustering never joins two clusters with a cannot-link between any of their
    records. A record in no customer yet stands for itself."""
    left = pending["left_customer"].fillna(pending["left_id"]).to_numpy(dtype=object)
    right = pending["right_customer"].fillna(pending["right_id"]).to_numpy(dtype=object)
    first, second = np.where(left <= right, left, right), np.where(left <= right, right, left)
    customers = pd.Series(list(zip(first[order], second[order], strict=True)), dtype=object)
    return order[~customers.duplicated().to_numpy()]


def queue_size(engine: sa.Engine, held_back: bool = False) -> int:
    """How many decisions wait for a steward: pairs of customers with a possible match between them (with
    ``held_back``, how many are held back as resting on one kind of evidence)."""
    with engine.connect() as connection:
        pending = _pending(connection, held_back)
    return len(one_per_customer_pair(pending, np.arange(len(pending))))


def review_queue(engine: sa.Engine, limit: int = 20, held_back: bool = False) -> list[ReviewItem]:
    """Pairs for a steward, the one whose decision would teach the model most first
    (``transforms.matching.labels.teaching_order``), one per pair of customers; with ``held_back`` the
    pairs held back, resting on one kind of evidence."""
    with engine.connect() as connection:
        pending = _pending(connection, held_back)
        pending_patterns = patterns(_levels(pending))
        decided = _decided_patterns(connection)
        order = teaching_order(
            pending_patterns, pending["match_probability"].to_numpy(), pending["records"].to_numpy(), decided
        )
        order = one_per_customer_pair(pending, order)[:limit]
        pairs = pending.iloc[order]
        records = _records(connection, sorted(set(pairs["left_id"]) | set(pairs["right_id"])))
    waiting = pd.Series(pending_patterns).value_counts()
    done = pd.Series(decided).value_counts()
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
            int(waiting[pattern]),
            int(done.get(pattern, 0)),
        )
        for (_, r), pattern in zip(pairs.iterrows(), pending_patterns[order], strict=True)
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


def read_labels(connection: sa.Connection, ids: pd.Index) -> Labels:
    """Every pair's latest decision as a label, by positions in ``ids`` (pairs of vanished records left out)."""
    decided = store.load_overrides(connection)
    left, right = ids.get_indexer(decided["left_id"]), ids.get_indexer(decided["right_id"])
    known = (left >= 0) & (right >= 0)
    pairs = np.sort(np.column_stack([left[known], right[known]]), axis=1).astype(np.int64)
    return Labels(pairs, decided["decision"].to_numpy()[known] == "must_link")


def labels_changed(connection: sa.Connection, model: MatchModel, labels: Labels) -> bool:
    """Whether stewards decided anything the stored model has not learned: other counts, or a decision
    taken after it was fitted (a changed mind keeps the counts)."""
    if model.labels != labels.counts():
        return True
    fitted = sa.select(sa.func.max(match_model.c.fitted_at)).scalar_subquery()
    newer = sa.select(sa.func.count()).where(match_override.c.decided_at > fitted)
    return bool(connection.execute(newer).scalar())
