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
from transforms.matching.settings import MatchSettings
from transforms.matching.stable_ids import IdEvent, id_number

FINGERPRINTS = ("fingerprint", "matched_fingerprint")
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
    fingerprint it was last matched with, indexed by ``unique_id``."""
    record = t.source_record.c
    frame = read_frame(connection, sa.select(record.unique_id, record.raw_fingerprint, record.matched_fingerprint))
    return frame.set_index("unique_id")


def save_records(connection: sa.Connection, records: pd.DataFrame, stored: pd.DataFrame, gone: list[str]) -> None:
    """Write the records standardised this run (their ``raw_fingerprint`` set) and forget those ``gone`` from
    the landing area; a record written keeps the fingerprint it was last matched with (from ``stored``), and
    every other record stays as it was."""
    frame = records[[*RECORD_COLUMNS, "raw_fingerprint"]].copy()
    frame["birth_date"] = frame["birth_date"].dt.date
    frame["fingerprint"] = fingerprints(records).to_numpy()
    frame["matched_fingerprint"] = stored["matched_fingerprint"].reindex(records["unique_id"]).to_numpy()
    write_changes(connection, t.source_record, frame, gone)


def count_unmatched(connection: sa.Connection) -> int:
    """Records whose fingerprint changed since they were last matched (or were never matched)."""
    record = t.source_record.c
    unmatched = record.matched_fingerprint.is_distinct_from(record.fingerprint)
    return connection.execute(sa.select(sa.func.count()).where(unmatched)).scalar()


MATCHING_COLUMNS = [c for c in RECORD_COLUMNS if not c.endswith("_display") and c not in ("city", "updated_at")]


def load_records(connection: sa.Connection, columns: list[str] | None = None) -> pd.DataFrame:
    """Standardised records in ``unique_id`` order, with positions as the index.

    ``columns`` limits what is read (with the fingerprints): at a million records every column
    of text costs the better part of a hundred megabytes.
    """
    wanted = columns or RECORD_COLUMNS
    record = t.source_record.c
    frame = read_frame(connection, sa.select(*(record[c] for c in [*wanted, *FINGERPRINTS])).order_by(record.unique_id))
    if "birth_date" in frame:
        frame["birth_date"] = pd.to_datetime(frame["birth_date"], errors="coerce").astype("datetime64[ns]")
    if "updated_at" in frame:
        frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True, errors="coerce")
    return frame.astype({c: object for c in wanted if c not in ("birth_date", "updated_at")})


def mark_matched(connection: sa.Connection) -> None:
    record = t.source_record.c
    connection.execute(
        sa.update(t.source_record)
        .where(record.matched_fingerprint.is_distinct_from(record.fingerprint))
        .values(matched_fingerprint=record.fingerprint)
    )


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
        return
    if touching:
        staged = sa.select(_stage_ids(connection, touching).c.unique_id)
        connection.execute(sa.delete(t.match_pair).where(sa.or_(pair.left_id.in_(staged), pair.right_id.in_(staged))))
    insert_frame(connection, "match_pair", pairs)


def _stage_ids(connection: sa.Connection, ids: list[str], column: str = "unique_id") -> sa.Table:
    """The IDs in a temporary table: an IN list of a million parameters is more than either store takes."""
    name = f"_hub_{column}s"
    staged = sa.Table(name, sa.MetaData(), sa.Column(column, sa.String), prefixes=["TEMPORARY"])
    staged.create(connection, checkfirst=True)
    connection.execute(sa.delete(staged))
    insert_frame(connection, staged.name, pd.DataFrame({column: ids}), schema=None)
    return staged


def load_links(connection: sa.Connection) -> pd.DataFrame:
    """What clustering needs of the stored pairs: matches with their weights, and conflicts."""
    pair = t.match_pair.c
    return read_frame(
        connection,
        sa.select(pair.left_id, pair.right_id, pair.match_weight, pair.outcome, pair.conflict).where(
            sa.or_(pair.outcome == sa.literal_column("'match'"), pair.conflict)
        ),
    )


def add_override(
    connection: sa.Connection, left_id: str, right_id: str, decision: str, decided_by: str, reason: str | None
) -> str:
    if decision not in ("must_link", "cannot_link"):
        raise ValueError("decision must be must_link or cannot_link")
    left_id, right_id = sorted((left_id, right_id))
    override_id = uuid.uuid4().hex
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


def load_overrides(connection: sa.Connection) -> pd.DataFrame:
    """The steward's latest decision on every pair they decided."""
    override = t.match_override.c
    frame = read_frame(
        connection, sa.select(override.left_id, override.right_id, override.decision, override.decided_at)
    )
    return frame.sort_values("decided_at").drop_duplicates(["left_id", "right_id"], keep="last")


def load_xref(connection: sa.Connection) -> pd.Series:
    """customer_id by unique_id, as of the last run."""
    frame = read_frame(connection, sa.select(t.customer_xref))
    return pd.Series(
        frame["customer_id"].to_numpy(), index=frame["source_system"] + ":" + frame["source_key"], dtype=object
    )


def highest_issued_id(connection: sa.Connection) -> int:
    """The highest customer ID ever issued, also when an erasure has removed its history since."""
    ids = read_frame(connection, sa.select(t.customer_id_history.c.customer_id).distinct())["customer_id"]
    kept = connection.execute(sa.select(sa.func.max(t.customer_id_high_water.c.highest))).scalar()
    return max([int(kept or 0), *(id_number(i) for i in ids)])


def keep_high_water(connection: sa.Connection) -> None:
    """Remember the highest ID issued before history that names it is deleted (an erasure)."""
    highest = highest_issued_id(connection)
    connection.execute(sa.delete(t.customer_id_high_water))
    connection.execute(sa.insert(t.customer_id_high_water).values(highest=highest))


def save_clusters(
    connection: sa.Connection, records: pd.DataFrame, customer_ids: pd.Series, events: list[IdEvent], run_id: str
) -> None:
    xref = pd.DataFrame(
        {
            "source_system": records["source_system"].to_numpy(),
            "source_key": records["source_key"].to_numpy(),
            "customer_id": customer_ids.reindex(records["unique_id"]).to_numpy(),
        }
    )
    write_differences(connection, t.customer_xref, xref)
    history = pd.DataFrame(
        [{"customer_id": e.customer_id, "event": e.event, "related_id": e.related_id} for e in events],
        columns=["customer_id", "event", "related_id"],
    )
    insert_frame(connection, "customer_id_history", history.assign(run_id=run_id, recorded_at=now()))


def _records_with_customers() -> sa.Join:
    """Source records joined to the crosswalk that names their customer."""
    record, xref = t.source_record.c, t.customer_xref.c
    return t.source_record.join(
        t.customer_xref, sa.and_(record.source_system == xref.source_system, record.source_key == xref.source_key)
    )


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
    wanted = _stage_ids(connection, customer_ids, "customer_id")
    joined = _records_with_customers().join(wanted, wanted.c.customer_id == xref.customer_id)
    query = sa.select(*(record[c] for c in RECORD_COLUMNS), xref.customer_id).select_from(joined)
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
