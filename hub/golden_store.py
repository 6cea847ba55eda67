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

from hub.storage import HUB_SCHEMA, insert_frame, read_frame
from transforms.matching.features import LEVELS
from transforms.matching.model import MatchModel
from transforms.matching.settings import MatchSettings
from transforms.matching.stable_ids import IdEvent, id_number

RECORD_COLUMNS = [
    "unique_id",
    "source_system",
    "source_key",
    "first_name_display",
    "last_name_display",
    "first_name",
    "last_name",
    "email",
    "email_local",
    "phone",
    "birth_date",
    "birth_month_day",
    "street_display",
    "street",
    "street_name",
    "postal_code",
    "city_display",
    "city",
    "updated_at",
    "soft_deleted",
]
COMPARED = ["first_name", "last_name", "email", "phone", "birth_date", "birth_month_day", "street", "postal_code"]
LEVEL_COLUMNS = {f: f"level_{f}" for f in LEVELS}
WEIGHT_COLUMNS = [f"weight_{f}" for f in LEVELS]


def now() -> datetime:
    return datetime.now(UTC)


def fingerprints(records: pd.DataFrame) -> pd.Series:
    """A hash of what matching compares: an unchanged fingerprint needs no new matching."""
    return pd.util.hash_pandas_object(records[COMPARED].astype(str), index=False).astype(str)


def save_records(connection: sa.Connection, records: pd.DataFrame) -> pd.DataFrame:
    """Replace the standardised records, keeping each one's fingerprint as of its last matching."""
    previous = read_frame(connection, f"SELECT unique_id, matched_fingerprint FROM {HUB_SCHEMA}.source_record")
    frame = records[RECORD_COLUMNS].copy()
    frame["birth_date"] = frame["birth_date"].dt.date
    frame["fingerprint"] = fingerprints(records).to_numpy()
    frame = frame.merge(previous, on="unique_id", how="left")
    connection.execute(sa.text(f"DELETE FROM {HUB_SCHEMA}.source_record"))
    insert_frame(connection, "source_record", frame)
    return frame


MATCHING_COLUMNS = [c for c in RECORD_COLUMNS if not c.endswith("_display") and c not in ("city", "updated_at")]


def load_records(connection: sa.Connection, columns: list[str] | None = None) -> pd.DataFrame:
    """Standardised records in ``unique_id`` order, with positions as the index.

    ``columns`` limits what is read (with the fingerprints): at a million records every column
    of text costs the better part of a hundred megabytes.
    """
    wanted = columns or RECORD_COLUMNS
    frame = read_frame(
        connection,
        f"SELECT {', '.join(wanted)}, fingerprint, matched_fingerprint "
        f"FROM {HUB_SCHEMA}.source_record ORDER BY unique_id",
    )
    if "birth_date" in frame:
        frame["birth_date"] = pd.to_datetime(frame["birth_date"], errors="coerce").astype("datetime64[ns]")
    if "updated_at" in frame:
        frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True, errors="coerce")
    return frame.astype({c: object for c in wanted if c not in ("birth_date", "updated_at")})


def mark_matched(connection: sa.Connection) -> None:
    connection.execute(sa.text(f"UPDATE {HUB_SCHEMA}.source_record SET matched_fingerprint = fingerprint"))


def load_model(connection: sa.Connection) -> tuple[MatchModel, MatchSettings | None] | None:
    """The fitted model and the settings it was fitted with (None for a model older than stored settings)."""
    rows = read_frame(connection, f"SELECT feature, level, level_name, m, u FROM {HUB_SCHEMA}.match_model")
    if rows.empty:
        return None
    stored = connection.execute(sa.text(f"SELECT settings FROM {HUB_SCHEMA}.match_settings")).scalar()
    settings = MatchSettings.from_mapping(json.loads(stored)) if stored else None
    return MatchModel.from_rows(rows.to_dict("records")), settings


def save_model(connection: sa.Connection, model: MatchModel, settings: MatchSettings) -> None:
    """Replace the model, and the settings it was fitted with beside it."""
    fitted_at = now()
    connection.execute(sa.text(f"DELETE FROM {HUB_SCHEMA}.match_model"))
    connection.execute(sa.text(f"DELETE FROM {HUB_SCHEMA}.match_settings"))
    insert_frame(connection, "match_model", pd.DataFrame(model.to_rows()).assign(fitted_at=fitted_at))
    connection.execute(
        sa.text(f"INSERT INTO {HUB_SCHEMA}.match_settings (fitted_at, settings) VALUES (:t, :s)"),
        {"t": fitted_at, "s": json.dumps(settings.to_mapping(), sort_keys=True)},
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
    table = f"{HUB_SCHEMA}.match_pair"
    if touching is None:
        connection.execute(sa.text(f"DELETE FROM {table}"))
    elif touching:
        _stage_ids(connection, touching)
        connection.execute(
            sa.text(
                f"DELETE FROM {table} WHERE left_id IN (SELECT unique_id FROM _hub_touching) "
                f"OR right_id IN (SELECT unique_id FROM _hub_touching)"
            )
        )
    insert_frame(connection, "match_pair", pairs)


def _stage_ids(connection: sa.Connection, ids: list[str]) -> None:
    connection.execute(sa.text("CREATE TEMPORARY TABLE IF NOT EXISTS _hub_touching (unique_id VARCHAR)"))
    connection.execute(sa.text("DELETE FROM _hub_touching"))
    insert_frame(connection, "_hub_touching", pd.DataFrame({"unique_id": ids}), schema=None)


def load_links(connection: sa.Connection) -> pd.DataFrame:
    """What clustering needs of the stored pairs: matches with their weights, and conflicts."""
    return read_frame(
        connection,
        f"SELECT left_id, right_id, match_weight, outcome, conflict FROM {HUB_SCHEMA}.match_pair "
        "WHERE outcome = 'match' OR conflict",
    )


def add_override(
    connection: sa.Connection, left_id: str, right_id: str, decision: str, decided_by: str, reason: str | None
) -> str:
    if decision not in ("must_link", "cannot_link"):
        raise ValueError("decision must be must_link or cannot_link")
    left_id, right_id = sorted((left_id, right_id))
    override_id = uuid.uuid4().hex
    connection.execute(
        sa.text(f"INSERT INTO {HUB_SCHEMA}.match_override VALUES (:o, :l, :r, :d, :b, :why, :at)"),
        {"o": override_id, "l": left_id, "r": right_id, "d": decision, "b": decided_by, "why": reason, "at": now()},
    )
    return override_id


def load_overrides(connection: sa.Connection) -> pd.DataFrame:
    """The steward's latest decision on every pair they decided."""
    frame = read_frame(connection, f"SELECT left_id, right_id, decision, decided_at FROM {HUB_SCHEMA}.match_override")
    return frame.sort_values("decided_at").drop_duplicates(["left_id", "right_id"], keep="last")


def load_xref(connection: sa.Connection) -> pd.Series:
    """customer_id by unique_id, as of the last run."""
    frame = read_frame(connection, f"SELECT source_system, source_key, customer_id FROM {HUB_SCHEMA}.customer_xref")
    return pd.Series(
        frame["customer_id"].to_numpy(), index=frame["source_system"] + ":" + frame["source_key"], dtype=object
    )


def highest_issued_id(connection: sa.Connection) -> int:
    """The highest customer ID ever issued, also when an erasure has removed its history since."""
    ids = read_frame(connection, f"SELECT DISTINCT customer_id FROM {HUB_SCHEMA}.customer_id_history")["customer_id"]
    kept = connection.execute(sa.text(f"SELECT max(highest) FROM {HUB_SCHEMA}.customer_id_high_water")).scalar()
    return max([int(kept or 0), *(id_number(i) for i in ids)])


def keep_high_water(connection: sa.Connection) -> None:
    """Remember the highest ID issued before history that names it is deleted (an erasure)."""
    highest = highest_issued_id(connection)
    connection.execute(sa.text(f"DELETE FROM {HUB_SCHEMA}.customer_id_high_water"))
    connection.execute(
        sa.text(f"INSERT INTO {HUB_SCHEMA}.customer_id_high_water (highest) VALUES (:h)"), {"h": highest}
    )


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
    connection.execute(sa.text(f"DELETE FROM {HUB_SCHEMA}.customer_xref"))
    insert_frame(connection, "customer_xref", xref)
    history = pd.DataFrame(
        [{"customer_id": e.customer_id, "event": e.event, "related_id": e.related_id} for e in events],
        columns=["customer_id", "event", "related_id"],
    )
    insert_frame(connection, "customer_id_history", history.assign(run_id=run_id, recorded_at=now()))


def save_golden(connection: sa.Connection, golden: pd.DataFrame, lineage: pd.DataFrame) -> None:
    connection.execute(sa.text(f"DELETE FROM {HUB_SCHEMA}.golden_customer"))
    connection.execute(sa.text(f"DELETE FROM {HUB_SCHEMA}.golden_lineage"))
    insert_frame(connection, "golden_customer", golden)
    insert_frame(connection, "golden_lineage", lineage)


def resolve(connection: sa.Connection, customer_id: str) -> str:
    """Follow 'merged_into' events to the ID that holds the customer now."""
    seen = {customer_id}
    current = customer_id
    while True:
        merged = read_frame(
            connection,
            f"SELECT related_id FROM {HUB_SCHEMA}.customer_id_history WHERE customer_id = :c AND event = 'merged_into' "
            "ORDER BY recorded_at DESC LIMIT 1",
            c=current,
        )
        if merged.empty or merged["related_id"].iloc[0] in seen:
            return current
        current = merged["related_id"].iloc[0]
        seen.add(current)


# Tables keyed by customer ID whose rows must follow the person when their ID is merged into another.
FOLLOWS_MERGES = {"subject_flag": "flag", "rectification": "attribute"}


def follow_merges(connection: sa.Connection) -> int:
    """Move restriction/objection flags and corrections from IDs merged away to the surviving ID."""
    moved = 0
    for table, key in FOLLOWS_MERGES.items():
        orphans = read_frame(
            connection,
            f"SELECT DISTINCT customer_id FROM {HUB_SCHEMA}.{table} WHERE customer_id NOT IN "
            f"(SELECT customer_id FROM {HUB_SCHEMA}.customer_xref)",
        )["customer_id"]
        for old in orphans:
            new = resolve(connection, old)
            if new == old:
                continue
            params = {"old": old, "new": new}
            connection.execute(
                sa.text(
                    f"DELETE FROM {HUB_SCHEMA}.{table} WHERE customer_id = :old AND {key} IN "
                    f"(SELECT {key} FROM {HUB_SCHEMA}.{table} WHERE customer_id = :new)"
                ),
                params,
            )
            moved += connection.execute(
                sa.text(f"UPDATE {HUB_SCHEMA}.{table} SET customer_id = :new WHERE customer_id = :old"), params
            ).rowcount
    return moved


def load_rectifications(connection: sa.Connection) -> pd.DataFrame:
    return read_frame(
        connection,
        f"SELECT customer_id, attribute, value, rectified_at, request_id, source_fingerprints "
        f"FROM {HUB_SCHEMA}.rectification",
    )


def forget_rectifications(connection: sa.Connection, lapsed: list[tuple[str, str]]) -> None:
    """Corrections a system has overtaken by changing the value itself."""
    for customer_id, attribute in lapsed:
        connection.execute(
            sa.text(f"DELETE FROM {HUB_SCHEMA}.rectification WHERE customer_id = :c AND attribute = :a"),
            {"c": customer_id, "a": attribute},
        )
