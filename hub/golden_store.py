"""Reading and writing the golden-customer tables of the ``mdm`` schema.

Each writer runs inside the caller's transaction, so a crash half-way leaves the previous state
whole and the next run simply does the work again.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from hub import schema as t
from hub.storage import insert_frame, read_frame, write_changes, write_differences
from transforms.matching.levels import LEVELS
from transforms.matching.model import MatchModel
from transforms.matching.settings import BLOCKING_KEYS, MatchSettings
from transforms.matching.stable_ids import IdEvent, id_number

FINGERPRINTS = ("fingerprint", "matched_fingerprint", "clustered_fingerprint")
RECORDS_STEP = "source_records"  # the step's progress through the landed tables (``hub.landed.read_progress``)
RECORD_COLUMNS = [c.name for c in t.source_record.columns if c.name not in (*FINGERPRINTS, "raw_fingerprint")]
COMPARED = ["first_name", "last_name", "email", "phone", "birth_date", "birth_month_day", "street", "postal_code"]
LEVEL_COLUMNS = {f: f"level_{f}" for f in LEVELS}
WEIGHT_COLUMNS = [f"weight_{f}" for f in LEVELS]


def now() -> datetime:
    return datetime.now(UTC)


def fingerprints(records: pd.DataFrame) -> pd.Series:
    """A hash of what matching compares: an unchanged fingerprint needs no new matching."""
    return pd.util.hash_pandas_object(records[COMPARED].astype(str), index=False).astype(str)


def load_stored_fingerprints(connection: sa.Connection) -> pd.DataFrame:
    """Each stored record's raw fingerprint (``transforms.source_records.raw_fingerprints``) and the
    fingerprints it was last matched and clustered with, indexed by ``unique_id``."""
    record = t.source_record.c
    kept = (record.raw_fingerprint, record.matched_fingerprint, record.clustered_fingerprint)
    frame = read_frame(connection, sa.select(record.unique_id, *kept))
    return frame.set_index("unique_id")


def save_records(connection: sa.Connection, records: pd.DataFrame, stored: pd.DataFrame, gone: list[str]) -> None:
    """Write the records standardised this run (their ``raw_fingerprint`` set) and forget those ``gone`` from
    the landing area; a record written keeps the fingerprints it was last matched and clustered with (from
    ``stored``), and every other record stays as it was."""
    frame = records[[*RECORD_COLUMNS, "raw_fingerprint"]].copy()
    frame["birth_date"] = frame["birth_date"].dt.date
    frame["fingerprint"] = fingerprints(records).to_numpy()
    for kept in ("matched_fingerprint", "clustered_fingerprint"):
        frame[kept] = stored[kept].reindex(records["unique_id"]).to_numpy()
    write_changes(connection, t.source_record, frame, gone)


def count_unmatched(connection: sa.Connection) -> int:
    """Records whose fingerprint changed since they were last matched (or were never matched)."""
    record = t.source_record.c
    unmatched = record.matched_fingerprint.is_distinct_from(record.fingerprint)
    return connection.execute(sa.select(sa.func.count()).where(unmatched)).scalar()


MATCHING_COLUMNS = [c for c in RECORD_COLUMNS if not c.endswith("_display") and c not in ("city", "updated_at")]


def load_records(
    connection: sa.Connection, columns: list[str] | None = None, within: sa.Select | None = None
) -> pd.DataFrame:
    """Standardised records in ``unique_id`` order, with positions as the index; only those ``within`` a
    selection of IDs (``stage_ids``) if given.

    ``columns`` limits what is read (with the fingerprints): at a million records every column
    of text costs the better part of a hundred megabytes.
    """
    wanted = columns or RECORD_COLUMNS
    record = t.source_record.c
    query = sa.select(*(record[c] for c in [*wanted, *FINGERPRINTS])).order_by(record.unique_id)
    frame = read_frame(connection, query if within is None else query.where(record.unique_id.in_(within)))
    if "birth_date" in frame:
        frame["birth_date"] = pd.to_datetime(frame["birth_date"], errors="coerce").astype("datetime64[ns]")
    if "updated_at" in frame:
        frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True, errors="coerce")
    return frame.astype({c: object for c in wanted if c not in ("birth_date", "updated_at")})


def load_blocking_keys(connection: sa.Connection) -> pd.DataFrame:
    """The kept blocking keys (``schema.blocking_key``), indexed by ``unique_id``; a missing key is <NA>.

    Read with the missing keys as 0 (never a hash: 2^-64) so that both stores hand over plain 64-bit integers;
    a literal 0, not a bound one: a query with parameters cannot go through PostgreSQL's COPY."""
    key = t.blocking_key.c
    hashes = [sa.func.coalesce(key[name], sa.literal_column("0")).label(name) for name in BLOCKING_KEYS]
    frame = read_frame(connection, sa.select(key.unique_id, key.basis, *hashes)).set_index("unique_id")
    for name in BLOCKING_KEYS:
        codes = frame[name].to_numpy(np.int64)
        frame[name] = pd.arrays.IntegerArray(codes, codes == 0)
    return frame


def save_blocking_keys(connection: sa.Connection, keys: pd.DataFrame, gone: list[str]) -> None:
    """Keep the blocking keys made this run (``unique_id``, ``basis`` and one column per key); forget those of
    the records ``gone``."""
    write_changes(connection, t.blocking_key, keys, gone)


def mark_matched(connection: sa.Connection) -> None:
    _caught_up(connection, "matched_fingerprint")


def _caught_up(connection: sa.Connection, column: str) -> None:
    """Every record's ``column`` set to its fingerprint: a step (matching, clustering) has seen it as it is."""
    record = t.source_record.c
    behind = record[column].is_distinct_from(record.fingerprint)
    connection.execute(sa.update(t.source_record).where(behind).values({column: record.fingerprint}))


def load_model(connection: sa.Connection) -> tuple[MatchModel, MatchSettings | None] | None:
    """The fitted model and the settings it was fitted with (None for a model older than stored settings)."""
    model = t.match_model.c
    rows = read_frame(connection, sa.select(model.feature, model.level, model.level_name, model.m, model.u))
    if rows.empty:
        return None
    stored = connection.execute(sa.select(t.match_settings.c.settings)).scalar()
    settings = MatchSettings.from_mapping(json.loads(stored)) if stored else None
    return MatchModel.from_rows(rows.to_dict("records")), settings


def save_model(connection: sa.Connection, model: MatchModel, settings: MatchSettings) -> None:
    """Replace the model, and the settings it was fitted with beside it."""
    fitted_at = now()
    connection.execute(sa.delete(t.match_model))
    connection.execute(sa.delete(t.match_settings))
    insert_frame(connection, "match_model", pd.DataFrame(model.to_rows()).assign(fitted_at=fitted_at))
    connection.execute(
        sa.insert(t.match_settings).values(
            fitted_at=fitted_at, settings=json.dumps(settings.to_mapping(), sort_keys=True)
        )
    )


def pairs_to_store(scored: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """Scored pairs worth keeping: matches, possible matches, and conflicts (clustering needs them)."""
    kept = scored[(scored["outcome"] != "non_match") | scored["conflict"]]
    frame = pd.DataFrame({"left_id": ids[kept["left"].to_numpy()], "right_id": ids[kept["right"].to_numpy()]})
    for feature, column in LEVEL_COLUMNS.items():
        frame[column] = kept[feature].to_numpy()
    for column in (*WEIGHT_COLUMNS, "match_weight", "match_probability", "outcome", "conflict"):
        frame[column] = kept[column].to_numpy()
    return frame.assign(scored_at=now())


def replace_pairs(connection: sa.Connection, pairs: pd.DataFrame, touching: list[str] | None) -> None:
    """Store pairs; with ``touching``, only pairs involving those records are replaced."""
    pair = t.match_pair.c
    if touching is None:
        write_differences(connection, t.match_pair, pairs, unchanged_by=("scored_at",))
        forget_clustering(connection)  # any pair may have moved
        return
    if touching:
        staged = stage_ids(connection, touching)
        old = sa.or_(pair.left_id.in_(staged), pair.right_id.in_(staged))
        forget_clustering(connection, sa.union(sa.select(pair.left_id).where(old), sa.select(pair.right_id).where(old)))
        connection.execute(sa.delete(t.match_pair).where(old))
    insert_frame(connection, "match_pair", pairs)


def forget_pairs_of_gone(connection: sa.Connection) -> None:
    """Delete the pairs of records no longer in ``source_record``; their partners are clustered again."""
    pair, record = t.match_pair.c, t.source_record.c
    for side, other in ((pair.left_id, pair.right_id), (pair.right_id, pair.left_id)):
        gone = ~sa.exists().where(record.unique_id == side)  # NOT IN over a million ids is quadratic on PostgreSQL
        forget_clustering(connection, sa.select(other).where(gone))
        connection.execute(sa.delete(t.match_pair).where(gone))


def forget_clustering(connection: sa.Connection, ids: sa.Select | list[str] | None = None) -> None:
    """Make the next clustering look at these records' part of the match graph again (without ``ids``, all).

    Clustering keeps every connected part of the graph none of whose records has moved, so whatever
    changes a record's pairs or a steward's decision about it clears its ``clustered_fingerprint``: both
    records of every pair that changes, so that a part that lost a link is redone as well."""
    record = t.source_record.c
    # a row already forgotten is not written again: a run forgets from several calls, and each rewritten row
    # costs PostgreSQL a new version of it in every index of the table
    forget = (
        sa.update(t.source_record).where(record.clustered_fingerprint.is_not(None)).values(clustered_fingerprint=None)
    )
    connection.execute(forget if ids is None else forget.where(record.unique_id.in_(ids)))


def stage_ids(connection: sa.Connection, ids: list[str], column: str = "unique_id") -> sa.Select:
    """The IDs in a temporary table (an IN list of a million parameters is more than either store takes), as
    a selection of them for ``IN``; one table per ``column`` name, refilled on every call."""
    name = f"_hub_{column}s"
    staged = sa.Table(name, sa.MetaData(), sa.Column(column, sa.String), prefixes=["TEMPORARY"])
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({column} VARCHAR)")
    connection.execute(sa.delete(staged))
    insert_frame(connection, staged.name, pd.DataFrame({column: ids}), schema=None)
    return sa.select(staged.c[column])


def load_links(connection: sa.Connection, within: sa.Select | None = None) -> pd.DataFrame:
    """What clustering needs of the stored pairs: matches with their weights, and conflicts (with ``within``,
    of pairs with both records in it)."""
    pair = t.match_pair.c
    query = sa.select(pair.left_id, pair.right_id, pair.match_weight, pair.outcome, pair.conflict).where(
        sa.or_(pair.outcome == MATCH, pair.conflict)
    )
    if within is not None:
        query = query.where(pair.left_id.in_(within), pair.right_id.in_(within))
    return read_frame(connection, query)


MATCH = sa.literal_column("'match'")  # a literal, not a parameter: DuckDB reads a query without any natively
EVERYONE_SHARE = 4  # clustering redoes everyone once a quarter of the records moved: cheaper than finding parts


def clustering_scope(connection: sa.Connection) -> list[str] | None:
    """The records clustering must redo (None: everyone): the connected parts of the match graph that hold a
    record whose fingerprint or pairs changed since it was last clustered (``forget_clustering``).

    Every other part has the same records, pairs and decisions as when it was clustered, and clustering a
    part depends on nothing outside it, so its customers stand as they are."""
    record = t.source_record.c
    moved = record.clustered_fingerprint.is_distinct_from(record.fingerprint)
    seeds = read_frame(connection, sa.select(record.unique_id).where(moved))["unique_id"].tolist()
    total = connection.execute(sa.select(sa.func.count()).select_from(t.source_record)).scalar()
    if len(seeds) * EVERYONE_SHARE >= total:
        return None
    return linked_records(connection, seeds)


def linked_records(connection: sa.Connection, ids: list[str]) -> list[str]:
    """``ids`` and every record a match or a steward's must-link joins to them, however indirectly: the
    connected parts of the graph clustering works on, found by widening a frontier one link at a time."""
    pair, override = t.match_pair.c, t.match_override.c
    edge = sa.and_(pair.outcome == MATCH, sa.not_(pair.conflict))
    must = override.decision == sa.literal_column("'must_link'")
    seen, frontier = set(ids), list(ids)
    while frontier:
        near = stage_ids(connection, frontier, "linked_id")
        found = sa.union(
            sa.select(pair.right_id).where(edge, pair.left_id.in_(near)),
            sa.select(pair.left_id).where(edge, pair.right_id.in_(near)),
            sa.select(override.right_id).where(must, override.left_id.in_(near)),
            sa.select(override.left_id).where(must, override.right_id.in_(near)),
        )
        frontier = [i for i in read_frame(connection, found).iloc[:, 0] if i not in seen]
        seen.update(frontier)
    return sorted(seen)


def add_override(
    connection: sa.Connection, left_id: str, right_id: str, decision: str, decided_by: str, reason: str | None
) -> str:
    if decision not in ("must_link", "cannot_link"):
        raise ValueError("decision must be must_link or cannot_link")
    left_id, right_id = sorted((left_id, right_id))
    override_id = uuid.uuid4().hex
    forget_clustering(connection, [left_id, right_id])
    connection.execute(
        sa.insert(t.match_override).values(
            override_id=override_id,
            left_id=left_id,
            right_id=right_id,
            decision=decision,
            decided_by=decided_by,
            reason=reason,
            decided_at=now(),
        )
    )
    return override_id


def load_overrides(connection: sa.Connection, within: sa.Select | None = None) -> pd.DataFrame:
    """The steward's latest decision on every pair they decided (with ``within``, of both records in it)."""
    override = t.match_override.c
    query = sa.select(override.left_id, override.right_id, override.decision, override.decided_at)
    if within is not None:
        query = query.where(override.left_id.in_(within), override.right_id.in_(within))
    frame = read_frame(connection, query)
    return frame.sort_values("decided_at").drop_duplicates(["left_id", "right_id"], keep="last")


def load_xref(connection: sa.Connection, within: sa.Select | None = None) -> pd.Series:
    """customer_id by unique_id, as of the last run; with ``within``, of those records and of the records gone
    since (whose rows clustering deletes)."""
    record = t.source_record.c
    if within is None:
        frame = read_frame(connection, sa.select(t.customer_xref))
    else:  # two plain joins: an OR of two EXISTS makes PostgreSQL test every crosswalk row one by one
        scoped = sa.select(t.customer_xref).join_from(t.customer_xref, t.source_record, _names_record())
        orphans = sa.select(t.customer_xref).outerjoin_from(t.customer_xref, t.source_record, _names_record())
        parts = [scoped.where(record.unique_id.in_(within)), orphans.where(record.unique_id.is_(None))]
        frame = pd.concat([read_frame(connection, part) for part in parts], ignore_index=True)
    return pd.Series(
        frame["customer_id"].to_numpy(), index=frame["source_system"] + ":" + frame["source_key"], dtype=object
    )


def highest_issued_id(connection: sa.Connection) -> int:
    """The highest customer ID ever issued, also when an erasure has removed its history since."""
    newest = connection.execute(sa.select(sa.func.max(t.customer_id_history.c.customer_id))).scalar()
    kept = connection.execute(sa.select(sa.func.max(t.customer_id_high_water.c.highest))).scalar()
    return max(int(kept or 0), id_number(newest) if newest else 0)  # IDs are of one width: the last sorts last


def keep_high_water(connection: sa.Connection) -> None:
    """Remember the highest ID issued before history that names it is deleted (an erasure)."""
    highest = highest_issued_id(connection)
    connection.execute(sa.delete(t.customer_id_high_water))
    connection.execute(sa.insert(t.customer_id_high_water).values(highest=highest))


def save_clusters(
    connection: sa.Connection,
    records: pd.DataFrame,
    customer_ids: pd.Series,
    previous: pd.Series,
    events: list[IdEvent],
    run_id: str,
) -> None:
    """The crosswalk rows of ``records`` (and of the records gone since ``previous``, deleted), their ID
    events; every record clustered is marked so. Only rows whose customer changed are written."""
    xref = pd.DataFrame(
        {
            "source_system": records["source_system"].to_numpy(),
            "source_key": records["source_key"].to_numpy(),
            "customer_id": customer_ids.reindex(records["unique_id"]).to_numpy(),
        }
    )
    moved = xref[xref["customer_id"].to_numpy() != previous.reindex(records["unique_id"]).to_numpy()]
    gone = [tuple(i.split(":", 1)) for i in previous.index.difference(pd.Index(records["unique_id"]))]
    write_changes(connection, t.customer_xref, moved, gone)
    history = pd.DataFrame(
        [{"customer_id": e.customer_id, "event": e.event, "related_id": e.related_id} for e in events],
        columns=["customer_id", "event", "related_id"],
    )
    insert_frame(connection, "customer_id_history", history.assign(run_id=run_id, recorded_at=now()))
    _caught_up(connection, "clustered_fingerprint")


def count_customers(connection: sa.Connection) -> int:
    return connection.execute(sa.select(sa.func.count(t.customer_xref.c.customer_id.distinct()))).scalar()


def _names_record() -> sa.ColumnElement[bool]:
    """A crosswalk row and the source record it names."""
    record, xref = t.source_record.c, t.customer_xref.c
    return sa.and_(record.source_system == xref.source_system, record.source_key == xref.source_key)


def _records_with_customers() -> sa.Join:
    """Source records joined to the crosswalk that names their customer."""
    return t.source_record.join(t.customer_xref, _names_record())


def load_members(connection: sa.Connection) -> pd.DataFrame:
    """Every record's customer and raw fingerprint: ``customer_id``, ``unique_id``, ``raw_fingerprint``."""
    record, xref = t.source_record.c, t.customer_xref.c
    query = sa.select(xref.customer_id, record.unique_id, record.raw_fingerprint)
    return read_frame(connection, query.select_from(_records_with_customers()))


def load_sources_digests(connection: sa.Connection) -> pd.Series:
    """Each golden customer's ``sources_digest`` as of its last survival, by ``customer_id``."""
    golden = t.golden_customer.c
    frame = read_frame(connection, sa.select(golden.customer_id, golden.sources_digest))
    return pd.Series(frame["sources_digest"].to_numpy(), index=frame["customer_id"].to_numpy(), dtype=object)


def load_records_of(connection: sa.Connection, customer_ids: list[str]) -> pd.DataFrame:
    """The standardised records of these customers (as ``load_records``), with their ``customer_id``."""
    record, xref = t.source_record.c, t.customer_xref.c
    wanted = stage_ids(connection, customer_ids, "customer_id")
    query = sa.select(*(record[c] for c in RECORD_COLUMNS), xref.customer_id).select_from(_records_with_customers())
    query = query.where(xref.customer_id.in_(wanted))
    frame = read_frame(connection, query.order_by(record.unique_id))
    frame["birth_date"] = pd.to_datetime(frame["birth_date"], errors="coerce").astype("datetime64[ns]")
    frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True, errors="coerce")
    return frame.astype({c: object for c in [*RECORD_COLUMNS, "customer_id"] if c not in ("birth_date", "updated_at")})


def load_names(connection: sa.Connection) -> pd.DataFrame:
    """Every record's folded first and last name: the sample name statistics are taken from."""
    record = t.source_record.c
    return read_frame(connection, sa.select(record.first_name, record.last_name)).astype(object)


KEPT, REFRESHED = ("updated_at",), ("sources_digest",)  # "last changed" moves with the values alone


def save_golden(connection: sa.Connection, golden: pd.DataFrame, lineage: pd.DataFrame, gone: list[str] | None) -> None:
    """Golden rows and their lineage; a customer's ``updated_at`` moves only when one of its values changed.

    With ``gone`` (a list, maybe empty) the rows are only the customers survived again: theirs are replaced
    and the customers gone are deleted, every other customer stays as it was. Without, the rows are every
    customer's, and only what differs is written."""
    if gone is None:
        write_differences(connection, t.golden_customer, golden, unchanged_by=KEPT, refreshed=REFRESHED)
        write_differences(connection, t.golden_lineage, lineage)
        return
    write_changes(connection, t.golden_customer, golden, gone, unchanged_by=KEPT, refreshed=REFRESHED)
    redone = [*gone, *golden["customer_id"]]  # a customer whose lineage shrank to nothing leaves no row to key by
    write_changes(connection, t.golden_lineage, lineage, redone, key="customer_id")


def resolve(connection: sa.Connection, customer_id: str) -> str:
    """Follow 'merged_into' events to the ID that holds the customer now."""
    seen = {customer_id}
    current = customer_id
    history = t.customer_id_history.c
    while True:
        merged = connection.execute(
            sa.select(history.related_id)
            .where(history.customer_id == current, history.event == "merged_into")
            .order_by(history.recorded_at.desc())
            .limit(1)
        ).scalar()
        if merged is None or merged in seen:
            return current
        current = merged
        seen.add(current)


# Tables keyed by customer ID whose rows must follow the person when their ID is merged into another.
FOLLOWS_MERGES = {t.subject_flag: "flag", t.rectification: "attribute"}


def follow_merges(connection: sa.Connection) -> int:
    """Move restriction/objection flags and corrections from IDs merged away to the surviving ID."""
    moved = 0
    for table, key in FOLLOWS_MERGES.items():
        customer = table.c.customer_id
        held = sa.select(t.customer_xref.c.customer_id)
        orphans = read_frame(connection, sa.select(customer).distinct().where(customer.not_in(held)))["customer_id"]
        for old in orphans:
            new = resolve(connection, old)
            if new == old:
                continue
            survivor = table.alias("survivor")
            held_by_new = sa.select(survivor.c[key]).where(survivor.c.customer_id == new)
            connection.execute(sa.delete(table).where(customer == old, table.c[key].in_(held_by_new)))
            moved += connection.execute(sa.update(table).where(customer == old).values(customer_id=new)).rowcount
    return moved


def load_rectifications(connection: sa.Connection) -> pd.DataFrame:
    return read_frame(connection, sa.select(t.rectification))


def forget_rectifications(connection: sa.Connection, lapsed: list[tuple[str, str]]) -> None:
    """Corrections a system has overtaken by changing the value itself."""
    for customer_id, attribute in lapsed:
        fix = t.rectification.c
        connection.execute(sa.delete(t.rectification).where(fix.customer_id == customer_id, fix.attribute == attribute))
