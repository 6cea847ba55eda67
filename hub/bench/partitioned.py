"""The matching stage alone (pairs, then clusters) on the executor the settings name: the Dask cluster's
local mode by default. ``python -m hub.bench.partitioned --shards 4`` on a hub the pipeline built (``HUB_HOME``)
prints each step's time and peak memory, and the stage's, for one shard or several.

Dask's workers are processes that rebuild the job from the ``HUB_*`` environment, so the settings are put
into this process's environment before the cluster starts.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import typer
from dagster import DagsterEventType, execute_job, reconstructable
from rich.console import Console
from rich.table import Table

from hub.config import Settings, load_settings
from hub.definitions import matching_job
from hub.instance import persistent_instance

FULL_REBUILD = {"ops": {"golden__match_pairs": {"config": {"full_rebuild": True}}}}


@dataclass
class MatchingRun:
    success: bool
    steps: dict[str, dict]  # per step that ran: seconds, and the figures its outputs carried (pairs, peak MB)
    assets: dict[str, dict]  # per asset materialised: its metadata
    pids: set[int]  # the processes the steps ran in


def run_matching(settings: Settings, run_config: dict | None = None, executor: str = "dask") -> MatchingRun:
    """Execute the matching job with ``settings`` on ``executor``, as a run of the hub's Dagster instance."""
    os.environ.update({**settings.environment(), "HUB_EXECUTOR": executor})
    with persistent_instance(settings) as instance:
        result = execute_job(reconstructable(matching_job), instance, run_config=run_config, raise_on_error=False)
        run = MatchingRun(result.success, {}, {}, set())
        for event in result.all_events:
            _read(run, event)
    return run


def _read(run: MatchingRun, event) -> None:
    if event.step_key:
        run.pids.add(event.pid)
    if event.event_type == DagsterEventType.STEP_OUTPUT:
        metadata = event.event_specific_data.metadata or {}
        run.steps.setdefault(event.step_key, {}).update({k: v.value for k, v in metadata.items()})
    elif event.event_type == DagsterEventType.STEP_SUCCESS:
        run.steps.setdefault(event.step_key, {})["seconds"] = event.event_specific_data.duration_ms / 1000
    elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
        materialization = event.step_materialization_data.materialization
        run.assets[event.asset_key.to_user_string()] = {k: v.value for k, v in materialization.metadata.items()}


def main(
    shards: int = typer.Option(1, help="HUB_MATCH_SHARDS for this run"),
    executor: str = typer.Option("dask", help="dask (a local cluster unless HUB_DASK_SCHEDULER is set), multiprocess"),
) -> None:
    settings = load_settings({**os.environ, "HUB_MATCH_SHARDS": str(shards)})
    started = time.monotonic()
    run = run_matching(settings, FULL_REBUILD, executor)
    wall = time.monotonic() - started
    table = Table("step", "seconds", "peak MB", "pairs")
    for key, figures in run.steps.items():
        peak = figures.get("peak_rss_mb")
        pairs = figures.get("pairs")
        table.add_row(
            key,
            f"{figures['seconds']:.1f}",
            "" if peak is None else f"{peak:,.0f}",
            "" if pairs is None else f"{pairs:,}",
        )
    console = Console()
    console.print(table)
    for asset, metadata in run.assets.items():
        console.print(asset, {k: v for k, v in metadata.items() if "seconds" in k or "peak" in k or "pairs" in k})
    outcome = "succeeded" if run.success else "FAILED"
    console.print(
        f"run {outcome}: {wall:.1f} s wall clock, {shards} shard(s), executor {executor}, {len(run.pids)} processes"
    )
    raise typer.Exit(0 if run.success else 1)


if __name__ == "__main__":
    typer.run(main)
