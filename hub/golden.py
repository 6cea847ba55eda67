"""Dagster definitions of the golden-customer area: standardise, match, cluster, survive.

Matching is incremental by default: records whose standardised fingerprint changed since they were
last matched are compared with all others, and stored pairs of the rest are kept. A full rebuild
re-scores every pair with the same model (and gives the same clusters); ``refit`` re-estimates the
model itself, as a run does once after matching's code or settings changed. Clustering redoes only the
parts of the match graph that changed (everything once when its code changed), survivorship only the
customers whose records changed; both give what redoing everything would.
"""

import hashlib

import numpy as np
import pandas as pd
import sqlalchemy as sa
from dagster import AssetExecutionContext, AssetsDefinition, Config, Definitions, MaterializeResult, asset

from hub import golden_store as store
from hub import landed as landed_module
from hub import schema as t
from hub import storage
from hub.asset_keys import GOLDEN_GROUP, golden_key, landing_key
from hub.landed import newest_loads, read_identities, read_progress, read_record_keys, save_progress
from hub.metrics import measure
from hub.pseudonym import fingerprint_with
from hub.resources import HubDatabase
from hub.review import labels_changed, read_labels
from hub.settings import read_settings
from hub.step_progress import read_step_progress, save_step_progress
from quality.contract import LandedTable
from quality.tables import landed_tables
from transforms.code_digest import code_digest
from transforms.matching import clustering as clustering_module
from transforms.matching import coherence as coherence_module
from transforms.matching import email_names as email_names_module
from transforms.matching import nicknames as nicknames_module
from transforms.matching.blocking import blocking_salt, candidate_pairs, hashed_keys, keys_digest, record_keys
from transforms.matching.clustering import ClusterInput, cluster
from transforms.matching.coherence import COHERENCE_COLUMNS
from transforms.matching.email_names import borrows_names, with_names_from_email
from transforms.matching.engine import score_pairs, scoring_digest
from transforms.matching.labels import Labels
from transforms.matching.model import MatchModel
from transforms.matching.settings import BLOCKING_KEYS, Comparisons, MatchSettings
from transforms.matching.stable_ids import assign_ids
from transforms.rectification import apply_rectifications
from transforms.source_records import raw_fingerprints, standardisation_digest, standardise, unique_ids
from transforms.standardise import addresses as addresses_module
from transforms.survivorship import (
    name_order_from,
    name_statistics,
    rules_from,
    sources_digests,
    survive,
    survivorship_digest,
)

DEFAULT_MATCHING = "matching.toml"
CLUSTERING_STEP = "customer_xref"  # the code it last clustered with (``hub.step_progress``)
MATCHING_STEP = "match_pairs"  # the code and settings it last scored pairs with


class MatchingConfig(Config):
    """``full_rebuild`` re-scores every pair with the stored model; ``refit`` fits it again; ``settings_file``
    fits a new model with other matching settings (a TOML file of the shape of hub/settings/matching.toml)."""

    full_rebuild: bool = False
    refit: bool = False
    settings_file: str | None = None


def matching_settings(config: MatchingConfig, stored: MatchSettings | None) -> MatchSettings:
    """The settings of this run: a file asked for, else those the stored model was fitted with, else the
    hub's default file."""
    if config.settings_file:
        return MatchSettings.from_mapping(read_settings(config.settings_file))
    return stored or MatchSettings.from_mapping(read_settings(DEFAULT_MATCHING))


@asset(
    key=golden_key("source_records"),
    deps=[landing_key(t.name) for t in landed_tables() if t.records],
    group_name=GOLDEN_GROUP,
    description="Every identity in the landing area as one standardised source record.",
)
def source_records(database: HubDatabase) -> MaterializeResult:
    """Only records whose raw fields (or the standardisation's code) changed since the last run are
    standardised again, and records gone from the landing area are forgotten: a day's run reads and
    touches a day's changes (``landed_since``)."""
    tables = [t for t in landed_tables() if t.records]
    with measure() as meter:
        storage.migrate(database.url)
        with database.engine().connect() as connection:
            digest = code_digest((landed_module,), standardisation_digest(), repr([t.records for t in tables]))
            taken_in = read_progress(connection, store.RECORDS_STEP, digest)
            loads = newest_loads(connection, tables)
            stored = store.load_stored_fingerprints(connection)
            identities, ids = landed_since(connection, tables, taken_in, stored)
        raw = raw_fingerprints(identities)
        read_ids = unique_ids(identities)
        changed = stored["raw_fingerprint"].reindex(read_ids).to_numpy() != raw.to_numpy()
        records = standardise(identities[changed])
        records["raw_fingerprint"] = pd.Series(raw.to_numpy(), index=read_ids).reindex(records["unique_id"]).to_numpy()
        gone = stored.index.difference(ids).tolist()
        with database.engine().begin() as connection:
            store.save_records(connection, records, stored, gone)
            unmatched = store.count_unmatched(connection)
            save_progress(connection, store.RECORDS_STEP, loads, digest)
    per_system = identities["source_system"].value_counts().to_dict()
    return meter.result(
        records=len(ids),
        landed_rows_read=len(identities),
        standardised=len(records),
        forgotten=len(gone),
        changed_since_matching=unmatched,
        **{f"records_read_{k}": int(v) for k, v in per_system.items()},
    )


def landed_since(
    connection: sa.Connection, tables: list[LandedTable], taken_in: dict[str, str], stored: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Index]:
    """The raw identities that may differ from what was standardised last, and the IDs of every landed record.

    Landing merges on keys, so a row keeps the load that last wrote it: of a table read before, only rows of
    newer loads are read, with the keys of all rows to tell which records went. A table whose rows were
    changed in place is read whole (``hub.landed.forget_progress``), and so is one holding a record that the
    hub does not hold with a raw fingerprint (its source records restored from an older backup, say)."""
    if not taken_in:
        identities = read_identities(connection, tables)
        return identities, pd.Index(unique_ids(identities))
    keys = read_record_keys(connection, tables)
    ids = pd.Index(unique_ids(keys))
    identities = read_identities(connection, tables, after=taken_in)
    held = stored.index[stored["raw_fingerprint"].notna().to_numpy()]
    unheld = ~ids.isin(held.union(pd.Index(unique_ids(identities))))
    whole = set(keys["table_name"][unheld])
    if whole:
        again = read_identities(connection, [t for t in tables if t.name in whole])
        identities = pd.concat([identities, again], ignore_index=True).drop_duplicates(
            ["source_system", "source_key"], ignore_index=True
        )
    return identities, ids


@asset(
    key=golden_key("match_pairs"),
    deps=[golden_key("source_records")],
    group_name=GOLDEN_GROUP,
    description="Scored candidate pairs (match, possible match, conflict) with their feature levels.",
)
def match_pairs(context: AssetExecutionContext, config: MatchingConfig, database: HubDatabase) -> MaterializeResult:
    with measure() as meter:
        records, model, settings, labels = load_matching(config, database)
        full = config.full_rebuild or model is None
        pairs, touching = candidates(records, settings, full, database)
        scored, fitted = score_pairs(records, pairs, model, settings, labels)
        save_matching(database, records, scored, settings, None if model else fitted, touching)
    context.log.info(f"scored {len(scored):,} candidate pairs ({'full' if full else 'incremental'})")
    return meter.result(
        **matching_summary(records, scored, full, touching, model is None), decisions_learned=len(labels)
    )


def load_matching(
    config: MatchingConfig, database: HubDatabase
) -> tuple[pd.DataFrame, MatchModel | None, MatchSettings, Labels]:
    """The records to match, the stored model (None when it must be fitted again), this run's settings and
    the stewards' decisions as labels."""
    with database.engine().connect() as connection:
        records = store.load_records(connection, store.MATCHING_COLUMNS)
        model, stored = store.load_model(connection) or (None, None)
        labels = read_labels(connection, pd.Index(records["unique_id"]))
        relearn = model is not None and labels_changed(connection, model, labels)
        settings = matching_settings(config, stored)
        upgraded = read_step_progress(connection, MATCHING_STEP, scoring_digest(settings)) is None
    if config.refit or config.settings_file or stored is None or not model.current or relearn or upgraded:
        model = None  # fit again: asked to, other settings, settings not kept, levels, decisions or code changed
    return records, model, settings, labels


def candidates(
    records: pd.DataFrame, settings: MatchSettings, full: bool, database: HubDatabase
) -> tuple[np.ndarray, list[str] | None]:
    """The candidate pairs (positions, sorted) and, in an incremental run, the records whose pairs they replace."""
    keys = kept_blocking_keys(records, database)
    if full:
        return candidate_pairs(keys, settings.blocking), None
    changed = changed_records(records)
    pairs = candidate_pairs(keys, settings.blocking, changed) if len(changed) else np.empty((0, 2), np.int64)
    return pairs, records.loc[changed, "unique_id"].tolist()


def kept_blocking_keys(records: pd.DataFrame, database: HubDatabase) -> pd.DataFrame:
    """Every record's blocking keys as keyed hashes (``blocking.hashed_keys``), indexed as ``records``.

    Kept keys are taken for the records whose basis (fingerprint, the keys' code, the hub's key) is the one
    they were made from; the others' are made now and kept, in a transaction of their own: a kept key is right
    for its basis whatever happens to the run. Records that borrow names from their email are made every time.
    """
    salt = blocking_salt(database.key())
    basis = records["fingerprint"].astype(str) + ":" + keys_digest() + hashlib.sha256(salt.encode()).hexdigest()[:8]
    with database.engine().connect() as connection:
        kept = store.load_blocking_keys(connection)
    held = kept.reindex(records["unique_id"].to_numpy())
    borrowed = borrows_names(records).to_numpy()
    redo = (held["basis"].to_numpy() != basis.to_numpy()) | borrowed
    keys = held[list(BLOCKING_KEYS)].set_axis(records.index)
    made = hashed_keys(record_keys(with_names_from_email(records)[redo]), salt)
    keys.loc[redo] = made[list(BLOCKING_KEYS)]
    own = redo & ~borrowed
    fresh = made[own[redo]].assign(unique_id=records["unique_id"].to_numpy()[own], basis=basis.to_numpy()[own])
    gone = kept.index.difference(pd.Index(records["unique_id"])).tolist()
    if len(fresh) or gone:
        with database.engine().begin() as connection:
            store.save_blocking_keys(connection, fresh, gone)
    return keys


def changed_records(records: pd.DataFrame) -> pd.Index:
    """Records whose fingerprint changed since they were last matched: an incremental run compares these."""
    return records.index[(records["fingerprint"] != records["matched_fingerprint"]).to_numpy()]


def save_matching(
    database: HubDatabase,
    records: pd.DataFrame,
    scored: pd.DataFrame,
    settings: MatchSettings,
    fitted: MatchModel | None,
    touching: list[str] | None,
) -> None:
    """Store the scored pairs (and a newly fitted model) in one transaction, with the code and settings they were
    scored with; forget pairs of records gone."""
    with database.engine().begin() as connection:
        if fitted is not None:
            store.save_model(connection, fitted, settings)
        store.replace_pairs(connection, store.pairs_to_store(scored, records["unique_id"].to_numpy()), touching)
        store.forget_pairs_of_gone(connection)
        store.mark_matched(connection)
        save_step_progress(connection, MATCHING_STEP, store.now(), scoring_digest(settings))


def matching_summary(
    records: pd.DataFrame, scored: pd.DataFrame, full: bool, touching: list[str] | None, refitted: bool
) -> dict:
    outcomes = scored["outcome"].value_counts().to_dict()
    return {
        "mode": "full" if full else "incremental",
        "model_refitted": refitted,
        "records_compared": len(records) if full else len(touching or []),
        "candidate_pairs": len(scored),
        "matches": int(outcomes.get("match", 0)),
        "possible_matches": int(outcomes.get("possible", 0)),
        "conflicts": int(scored["conflict"].sum()),
    }


def _positions(ids: pd.Index, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of ids as positions, and which rows had both records still present."""
    left, right = ids.get_indexer(frame["left_id"]), ids.get_indexer(frame["right_id"])
    known = (left >= 0) & (right >= 0)
    return np.column_stack([left[known], right[known]]).astype(np.int64), known


@asset(
    key=golden_key("customer_xref"),
    deps=[golden_key("match_pairs")],
    group_name=GOLDEN_GROUP,
    description="Which golden customer every source record belongs to, with stable IDs and their history.",
)
def customer_xref(context: AssetExecutionContext, database: HubDatabase) -> MaterializeResult:
    """Only the connected parts of the match graph where a record, a pair or a steward's decision changed
    since the last run are clustered again (``store.clustering_scope``); the rest keep their customers.
    Everyone is clustered again once after clustering's code or cut-offs changed (an upgrade's new rule
    reaches the customers it would have made otherwise)."""
    with measure() as meter:
        with database.engine().connect() as connection:
            stored = store.load_model(connection)
            comparisons = stored[1].comparisons if stored and stored[1] else Comparisons()
            judges = (clustering_module, coherence_module, nicknames_module, email_names_module, addresses_module)
            digest = code_digest(judges, repr(comparisons))
            code_unchanged = read_step_progress(connection, CLUSTERING_STEP, digest) is not None
            scope = store.clustering_scope(connection) if code_unchanged else None
            within = None if scope is None else store.stage_ids(connection, scope)
            columns = ["unique_id", "source_system", "source_key", *COHERENCE_COLUMNS]
            records = store.load_records(connection, columns, within)
            pairs = store.load_links(connection, within)
            overrides = store.load_overrides(connection, within)
            previous = store.load_xref(connection, within)
            highest = store.highest_issued_id(connection)
        ids = pd.Index(records["unique_id"])
        matches = pairs[(pairs["outcome"] == "match") & ~pairs["conflict"].astype(bool)]
        edges, present = _positions(ids, matches)
        labels = cluster(
            ClusterInput(
                size=len(records),
                edges=edges,
                edge_weights=matches["match_weight"].to_numpy()[present],
                conflicts=np.concatenate(
                    [
                        _positions(ids, pairs[pairs["conflict"].astype(bool)])[0],
                        _positions(ids, overrides[overrides["decision"] == "cannot_link"])[0],
                    ]
                ),
                must_links=_positions(ids, overrides[overrides["decision"] == "must_link"])[0],
                records=records,
                comparisons=comparisons,
            )
        )
        customer_ids, events = assign_ids(pd.Series(labels, index=ids), previous, highest)
        with database.engine().begin() as connection:
            store.save_clusters(connection, records, customer_ids, previous, events, context.run_id)
            save_step_progress(connection, CLUSTERING_STEP, store.now(), digest)
            followed = store.follow_merges(connection)
            customers = store.count_customers(connection)
    kinds = pd.Series([e.event for e in events], dtype=object).value_counts().to_dict()
    return meter.result(
        customers=customers,
        records_clustered=len(records),
        requests_followed_into_merges=followed,
        **{f"ids_{k}": int(v) for k, v in kinds.items()},
    )


@asset(
    key=golden_key("golden_customer"),
    deps=[golden_key("customer_xref")],
    group_name=GOLDEN_GROUP,
    description="One row per customer: surviving attribute values (or standing corrections), with lineage.",
)
def golden_customer(database: HubDatabase) -> MaterializeResult:
    """Only customers whose records changed (raw fields, or which records they hold), who have standing
    corrections, or who are new are survived again; customers gone are deleted. A change of the
    survivorship rules or code changes every customer's digest, so that run survives everyone."""
    with measure() as meter:
        rules = read_settings("survivorship.toml")
        with database.engine().connect() as connection:
            digests = sources_digests(store.load_members(connection), survivorship_digest(rules))
            stored = store.load_sources_digests(connection)
            corrections = store.load_rectifications(connection)
            changed = digests.index[stored.reindex(digests.index).to_numpy() != digests.to_numpy()]
            redo = changed.union(pd.Index(corrections["customer_id"]).intersection(digests.index))
            everyone = len(redo) == len(digests)
            records = store.load_records_of(connection, redo.tolist())
            statistics = name_statistics(store.load_names(connection))
        golden, lineage, lapsed = survived(records, corrections, rules, statistics, fingerprint_with(database.key()))
        golden["sources_digest"] = digests.reindex(golden["customer_id"]).to_numpy()
        gone = stored.index.difference(digests.index).tolist()
        with database.engine().begin() as connection:
            store.save_golden(connection, golden, lineage, None if everyone else gone)
            store.forget_rectifications(connection, lapsed)
    return meter.result(
        customers=len(digests),
        customers_survived=len(golden),
        customers_gone=len(gone),
        lineage_rows_written=len(lineage),
        names_from_reordered_records=int(lineage["rule"].str.contains("name order").sum()) if len(lineage) else 0,
        corrections_standing=len(corrections) - len(lapsed),
        corrections_overtaken_by_systems=len(lapsed),
    )


def survived(
    records: pd.DataFrame, corrections: pd.DataFrame, rules: dict, statistics: pd.DataFrame, fingerprint
) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[str, str]]]:
    """Golden rows of the customers ``records`` hold, their lineage, and the corrections that lapsed."""
    if records.empty:
        empty = pd.DataFrame(columns=[c.name for c in t.golden_customer.columns if c.name != "sources_digest"])
        return empty, pd.DataFrame(columns=[c.name for c in t.golden_lineage.columns]), []
    golden, lineage = survive(records, rules_from(rules), name_order_from(rules), statistics)
    golden, lineage, lapsed = apply_rectifications(golden, lineage, records, corrections, fingerprint)
    summary = records.groupby("customer_id").agg(
        source_records=("unique_id", "size"),
        source_systems=("source_system", lambda s: ",".join(sorted(set(s)))),
    )
    golden = golden.join(summary, on="customer_id")
    golden["birth_date"] = pd.to_datetime(golden["birth_date"]).dt.date
    golden["updated_at"] = store.now()
    return golden, lineage, lapsed


def golden_definitions(matching: AssetsDefinition = match_pairs) -> Definitions:
    """``matching``: the matching stage, in one step (``match_pairs``) or in shards (``hub.golden_shards``)."""
    return Definitions(assets=[source_records, matching, customer_xref, golden_customer])
