"""Running the one pipeline in-process: what ``hub run``, ``hub demo`` and the benchmark share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance, logger

from hub import storage
from hub.config import Settings
from hub.definitions import PIPELINE_JOB, build_definitions

ProgressCallback = Callable[[str], None]


@dataclass
class PipelineOutcome:
    success: bool
    failed_steps: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    materializations: dict[str, dict] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.success and not self.failed_steps and not self.failed_checks


class _ProgressHandler(logging.Handler):
    """Turns Dagster's structured events into one short line per asset, check and failure."""

    def __init__(self, report: ProgressCallback) -> None:
        super().__init__()
        self.report = report

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_meta", {}).get("dagster_event")
        if event is None:
            return
        kind = event.event_type
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            self.report(f"done     {event.asset_key.to_user_string()}")
        elif kind == DagsterEventType.STEP_FAILURE:
            self.report(f"FAILED   {event.step_key}")
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            status = "passed" if evaluation.passed else "FAILED"
            self.report(f"check    {evaluation.asset_key.to_user_string()} {evaluation.check_name}: {status}")


def _progress_logger(report: ProgressCallback):
    @logger(description="Short progress lines for the command line.")
    def progress(_init_context):
        log = logging.getLogger("hub.progress")
        log.propagate = False
        log.setLevel(logging.DEBUG)
        log.handlers = [_ProgressHandler(report)]
        return log

    return progress


def run_pipeline(
    settings: Settings, report: ProgressCallback | None = None, run_config: dict | None = None
) -> PipelineOutcome:
    """Materialise every asset of the hub once, in this process, and say what failed.

    ``run_config`` reaches the assets' config, e.g. a full rebuild of matching.
    """
    defs = build_definitions(settings)
    job = defs.resolve_job_def(PIPELINE_JOB)
    if report is not None:
        job = job.with_logger_defs({"progress": _progress_logger(report)})
        run_config = {**(run_config or {}), "loggers": {"progress": {}}}
    with storage.run_lock(settings.database_url), DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=run_config)
        failures = [e for e in result.all_events if e.is_step_failure]
        failed_steps = [e.step_key for e in failures]
        errors = [_error_summary(e) for e in failures]
        failed_checks = [
            f"{e.asset_key.to_user_string()}:{e.check_name}"
            for e in result.get_asset_check_evaluations()
            if not e.passed and e.severity == AssetCheckSeverity.ERROR
        ]
        materializations = {
            e.asset_key.to_user_string(): {
                k: v.value for k, v in e.step_materialization_data.materialization.metadata.items()
            }
            for e in result.all_events
            if e.is_step_materialization
        }
        step_seconds = {
            e.step_key: e.event_specific_data.duration_ms / 1000 for e in result.all_events if e.is_step_success
        }
    return PipelineOutcome(result.success, failed_steps, errors, failed_checks, materializations, step_seconds)


def _error_summary(event) -> str:
    """The failed step's exception class and message; engines hide SQL parameters, so no data leaks."""
    error = event.step_failure_data.error
    while error.cause is not None and error.cls_name in ("DagsterExecutionStepExecutionError",):
        error = error.cause
    return f"{event.step_key}: {error.cls_name}: {error.message.strip()[:500]}"
