"""The hub's one pipeline: every area's Dagster definitions merged, plus the job that runs them all.

``workspace.yaml`` loads ``defs``; ``hub run``, ``hub demo`` and the benchmark build the same
definitions with ``build_definitions`` and execute ``PIPELINE_JOB`` in-process.
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    Definitions,
    ExecutorDefinition,
    JobDefinition,
    ScheduleDefinition,
    define_asset_job,
    in_process_executor,
    multiprocess_executor,
)

from hub import storage
from hub.access.assets import access_definitions
from hub.asset_keys import golden_key
from hub.config import ConfigurationError, Settings, load_settings
from hub.consent import consent_definitions
from hub.golden import golden_definitions, match_pairs
from hub.golden_shards import sharded_match_pairs
from hub.ingest import ingest_definitions
from hub.resources import database_resource, settings_resource, systems_resource
from hub.run_executor import run_locked
from hub.segments.assets import segments_definitions

PIPELINE_JOB = "hub_pipeline"
MATCHING_JOB = "hub_matching"  # the matching stage alone: pairs, then clusters
EXECUTORS = ("in_process", "multiprocess", "dask")


def build_definitions(settings: Settings | None = None) -> Definitions:
    settings = settings or load_settings()
    pipeline = define_asset_job(PIPELINE_JOB, selection=AssetSelection.all())
    matching = define_asset_job(
        MATCHING_JOB, selection=AssetSelection.assets(golden_key("match_pairs"), golden_key("customer_xref"))
    )
    core = Definitions(
        jobs=[pipeline, matching],
        schedules=[
            ScheduleDefinition(
                name="daily_hub_pipeline",
                job=pipeline,
                cron_schedule="0 3 * * *",
                execution_timezone="Europe/Helsinki",
            )
        ],
        resources={
            "database": database_resource(settings),
            "systems": systems_resource(settings),
            "hub_settings": settings_resource(settings),
        },
        executor=executor(settings),
    )
    return Definitions.merge(
        core,
        ingest_definitions(settings),
        golden_definitions(sharded_match_pairs(settings.shards) if settings.shards > 1 else match_pairs),
        consent_definitions(settings),
        access_definitions(),
        segments_definitions(),
    )


def executor(settings: Settings) -> ExecutorDefinition:
    """The executor of the runs Dagster starts (``HUB_EXECUTOR``); each holds the hub's run lock throughout, as
    `hub run` does (hub/run_executor.py). An embedded DuckDB file takes one writer at a time: its steps run one
    after another in one process. PostgreSQL: a process per step (``multiprocess``), or a Dask cluster."""
    duckdb = storage.is_duckdb(settings.database_url)
    name = (settings.executor or ("in_process" if duckdb else "multiprocess")).strip().lower()
    if name not in EXECUTORS:
        raise ConfigurationError(f"HUB_EXECUTOR must be one of {', '.join(EXECUTORS)}")
    if duckdb and name != "in_process":
        raise ConfigurationError("HUB_EXECUTOR other than in_process needs a PostgreSQL HUB_DATABASE_URL")
    if name == "dask":
        from hub.dask_executor import locked_dask_executor  # dask loads only where it is used

        return locked_dask_executor(settings.database_url, settings.dask_scheduler)
    return run_locked(in_process_executor if name == "in_process" else multiprocess_executor, settings.database_url)


def matching_job() -> JobDefinition:
    """The matching job of the deployment the environment describes: what a Dask worker rebuilds
    (``reconstructable(matching_job)``) to run its step."""
    return build_definitions().resolve_job_def(MATCHING_JOB)


defs = build_definitions()
