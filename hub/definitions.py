"""The hub's one pipeline: every area's Dagster definitions merged, plus the job that runs them all.

``workspace.yaml`` loads ``defs``; ``hub run``, ``hub demo`` and the benchmark build the same
definitions with ``build_definitions`` and execute ``PIPELINE_JOB`` in-process.
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
    in_process_executor,
    multiprocess_executor,
)

from hub import storage
from hub.access.assets import access_definitions
from hub.config import Settings, load_settings
from hub.consent import consent_definitions
from hub.golden import golden_definitions
from hub.ingest import ingest_definitions
from hub.resources import database_resource, settings_resource, systems_resource
from hub.run_executor import run_locked
from hub.segments.assets import segments_definitions

PIPELINE_JOB = "hub_pipeline"


def build_definitions(settings: Settings | None = None) -> Definitions:
    settings = settings or load_settings()
    pipeline = define_asset_job(PIPELINE_JOB, selection=AssetSelection.all())
    core = Definitions(
        jobs=[pipeline],
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
        # An embedded DuckDB file takes one writer at a time: run its steps one after another. Every run
        # Dagster starts holds the hub's run lock throughout, as `hub run` does (hub/run_executor.py).
        executor=run_locked(
            in_process_executor if storage.is_duckdb(settings.database_url) else multiprocess_executor,
            settings.database_url,
        ),
    )
    return Definitions.merge(
        core,
        ingest_definitions(settings),
        golden_definitions(),
        consent_definitions(settings),
        access_definitions(),
        segments_definitions(),
    )


defs = build_definitions()
