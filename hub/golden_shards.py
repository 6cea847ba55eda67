"""The matching stage as independent shards, so that comparing can spread over processes or machines.

``HUB_MATCH_SHARDS`` > 1 puts this graph in place of the one-step ``golden.match_pairs``, under the same
asset key and config. One step plans: it loads the records, blocks (blocking needs every record's keys,
and is cheap next to comparing) and splits the sorted candidate pairs into contiguous slices
(``split_pairs``), so every pair is in exactly one shard, whichever blocks or passes proposed it. Each
shard step reads the records and compares its slice: the costly part, string similarities over every
pair. One step collects the levels in order, fits the model when it must (over all levels, as the one
step does), scores and writes: one writer, as DuckDB needs, and one transaction.

A pair's levels depend on its two records alone (given all records), and the collector scores them in
the one step's order, so the result equals ``golden.match_pairs``'s: same pairs, levels, weights, model.
Only pair positions and integer levels pass between the steps (through the run's IO manager, which on
several machines must be storage they share), never a personal value: each step reads the records
from the hub's database itself.
"""

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from dagster import (
    AssetIn,
    AssetsDefinition,
    ConfigMapping,
    In,
    Nothing,
    OpExecutionContext,
    Out,
    Output,
    graph_asset,
    op,
)

from hub import golden_store as store
from hub.asset_keys import GOLDEN_GROUP, golden_key
from hub.golden import (
    MatchingConfig,
    candidates,
    changed_records,
    load_matching,
    matching_summary,
    save_matching,
)
from hub.metrics import StageMeter, measure
from hub.resources import HubDatabase
from transforms.matching.blocking import split_pairs
from transforms.matching.engine import compare_pairs, score_pairs
from transforms.matching.settings import MatchSettings


@dataclass(frozen=True)
class Plan:
    """What the collector needs of the planning step: the pairs in order, and what the shards were told."""

    pairs: np.ndarray
    records: int  # how many records the positions refer to
    started: float  # the stage's start, wall clock: the collector reports the whole stage
    meter: StageMeter


@dataclass(frozen=True)
class ShardTask:
    pairs: np.ndarray
    settings: MatchSettings
    records: int


@dataclass(frozen=True)
class ShardLevels:
    levels: pd.DataFrame
    meter: StageMeter


class StaleRecords(RuntimeError):
    """The records changed between the plan and a later step (nothing else may write while a run holds the
    hub's lock): positions would name other records."""


def _read_records(database: HubDatabase, expected: int) -> pd.DataFrame:
    with database.engine().connect() as connection:
        records = store.load_records(connection, store.MATCHING_COLUMNS)
    if len(records) != expected:
        raise StaleRecords(f"the plan was made for {expected:,} source records, the database holds {len(records):,}")
    return records


def _plan_op(shards: int):
    @op(
        name="plan_matching",
        ins={"source_records": In(Nothing)},
        out={"plan": Out(), **{f"shard_{i}": Out() for i in range(shards)}},
        description="Blocks all records and splits the candidate pairs into the shards' slices.",
    )
    def plan_matching(context: OpExecutionContext, config: MatchingConfig, database: HubDatabase):
        started = time.time()
        with measure() as meter:
            records, model, settings, _ = load_matching(config, database)
            pairs, _ = candidates(records, settings, config.full_rebuild or model is None, database)
            slices = split_pairs(pairs, shards)
        context.log.info(f"{len(pairs):,} candidate pairs in {shards} shards")
        yield Output(Plan(pairs, len(records), started, meter), "plan")
        for i, part in enumerate(slices):
            yield Output(ShardTask(part, settings, len(records)), f"shard_{i}", metadata={"pairs": len(part)})

    return plan_matching


@op(description="Compares one shard's candidate pairs: their agreement level on every feature.")
def compare_shard(task: ShardTask, database: HubDatabase) -> Output[ShardLevels]:
    with measure() as meter:
        records = _read_records(database, task.records)
        levels = compare_pairs(records, task.pairs, task.settings)
    figures = {"pairs": len(levels), "seconds": round(meter.seconds, 2), "peak_rss_mb": round(meter.peak_rss_mb, 1)}
    return Output(ShardLevels(levels, meter), metadata=figures)


def _collect_op(shards: int):
    # Each shard's levels by name, not as one fanned-in list: dagster-dask plans every step before the first
    # runs, and would hand a fan-in input none of its sources.
    @op(
        name="collect_matching",
        ins={"plan": In(), **{f"shard_{i}": In() for i in range(shards)}},
        out=Out(Nothing),
        description="Fits the model if needed, scores every pair in order and stores them.",
    )
    def collect_matching(
        context: OpExecutionContext, config: MatchingConfig, database: HubDatabase, plan: Plan, **levels: ShardLevels
    ):
        parts = [levels[f"shard_{i}"] for i in range(shards)]
        with measure() as meter:
            records, model, settings, labels = load_matching(config, database)
            if len(records) != plan.records:
                raise StaleRecords(f"the plan was made for {plan.records:,} source records, now {len(records):,}")
            full = config.full_rebuild or model is None
            touching = None if full else records.loc[changed_records(records), "unique_id"].tolist()
            compared = pd.concat([p.levels for p in parts], ignore_index=True)
            if len(compared) != len(plan.pairs):
                raise RuntimeError(f"the shards compared {len(compared):,} pairs of the {len(plan.pairs):,} planned")
            scored, fitted = score_pairs(records, plan.pairs, model, settings, labels, levels=compared)
            save_matching(database, records, scored, settings, None if model else fitted, touching)
        context.log.info(f"scored {len(scored):,} candidate pairs from {shards} shards")
        metadata = matching_summary(records, scored, full, touching, model is None)
        yield Output(None, metadata={**metadata, **_figures(plan, parts, meter)})

    return collect_matching


def _figures(plan: Plan, shards: list[ShardLevels], collect: StageMeter) -> dict:
    """The whole stage's wall time and largest process, and each kind of step's, for the UI and the benchmark."""
    steps = [plan.meter, *(s.meter for s in shards), collect]
    return {
        "shards": len(shards),
        "seconds": round(time.time() - plan.started, 2),
        "peak_rss_mb": round(max(m.peak_rss_mb for m in steps), 1),
        "plan_seconds": round(plan.meter.seconds, 2),
        "plan_peak_rss_mb": round(plan.meter.peak_rss_mb, 1),
        "shard_seconds_max": round(max(s.meter.seconds for s in shards), 2),
        "shard_peak_rss_mb_max": round(max(s.meter.peak_rss_mb for s in shards), 1),
        "collect_seconds": round(collect.seconds, 2),
        "collect_peak_rss_mb": round(collect.peak_rss_mb, 1),
    }


def _to_steps(config: dict) -> dict:
    """The stage's config (``golden__match_pairs``, as for the one step) to the two steps that decide by it."""
    values = {"config": config}
    return {"plan_matching": values, "collect_matching": values}


def sharded_match_pairs(shards: int) -> AssetsDefinition:
    """The ``golden/match_pairs`` asset as a graph: plan, ``shards`` compare steps, collect."""
    plan_matching, collect_matching = _plan_op(shards), _collect_op(shards)

    @graph_asset(
        key=golden_key("match_pairs"),
        ins={"source_records": AssetIn(golden_key("source_records"), dagster_type=Nothing)},
        group_name=GOLDEN_GROUP,
        config=ConfigMapping(config_fn=_to_steps, config_schema=MatchingConfig.to_config_schema()),
        description=f"Scored candidate pairs (match, possible match, conflict), compared in {shards} shards.",
    )
    def match_pairs(source_records):
        plan, *tasks = plan_matching(source_records)
        levels = {f"shard_{i}": compare_shard.alias(f"compare_shard_{i}")(task) for i, task in enumerate(tasks)}
        return collect_matching(plan, **levels)

    return match_pairs
