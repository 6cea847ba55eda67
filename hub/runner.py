"""Running the one pipeline in-process: what ``hub run``, ``hub demo`` and the benchmark share."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dagster import AssetCheckSeverity, DagsterEventType, logger

from hub import locking
from hub.config import Settings
from hub.definitions import PIPELINE_JOB, build_definitions
from hub.instance import persistent_instance

ProgressCallback = Callable[[str], None]
INTERRUPT_AGAIN_SECONDS = 1.0
LAUNCHED_BY_TAG = "hub/launched_by"  # tells a `hub run` from a run the UI or a schedule started


@dataclass
class PipelineOutcome:
    success: bool
    failed_steps: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    materializations: dict[str, dict] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)  # the steps that succeeded, in order
    timed_out: bool = False
    total_seconds: float = 0.0  # the whole run, wall clock
    run_id: str = ""  # in the hub's Dagster instance (the UI's run page)
    failed_step_seconds: dict[str, float] = field(default_factory=dict)

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


class RunTimedOut(KeyboardInterrupt):
    """The run passed its overall limit; Dagster stops a run on an interrupt as it does on Ctrl-C."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[list[bool]]:
    """Interrupt the run after ``seconds`` (the flag in the yielded list says whether it was).

    An alarm signal reaches a call blocked on a silent server as well as a busy step. It repeats every
    second once the limit has passed: a library that catches the interrupt (dlt turns it into its own
    step failure) would otherwise let the next steps run on. Signals are delivered to the main thread
    only: a run started from another thread (a test) has no limit.
    """
    fired = [False]
    if threading.current_thread() is not threading.main_thread():
        yield fired
        return

    def interrupt(_signum, _frame) -> None:
        fired[0] = True
        raise RunTimedOut

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds, INTERRUPT_AGAIN_SECONDS)
    try:
        yield fired
    except KeyboardInterrupt:
        # A repeated alarm can reach Dagster's own clean-up after the first one stopped the run, and escape
        # it (as our RunTimedOut or as Dagster's own interrupt): the run is over all the same, and must not
        # leave this block as if Ctrl-C was hit. An interrupt before the limit is the user's: it goes on.
        if not fired[0]:
            raise
    finally:
        signal.signal(signal.SIGALRM, signal.SIG_IGN)  # first: no alarm may interrupt the clean-up below
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_pipeline(
    settings: Settings,
    report: ProgressCallback | None = None,
    run_config: dict | None = None,
    *,
    wait: float = 0.0,
    groups: tuple[str, ...] = (),
) -> PipelineOutcome:
    """Materialise every asset of the hub once, in this process, and say what failed.

    ``groups`` narrows the run to the assets of those asset groups and their checks (a test whose claim is
    about landing or matching need not publish). ``run_config`` reaches the assets' config, e.g. a full
    rebuild of matching. The run holds the hub's lock (``hub.locking``) throughout, waiting ``wait`` seconds
    for another holder before ``Busy``, and stops after ``settings.run_timeout_seconds``. It is recorded in the
    hub's persistent Dagster instance (``hub.instance``), so the Dagster UI shows its logs and check results
    beside the runs it started.
    """
    with (
        locking.exclusive(settings.database_url, "hub run", wait=wait, notice=report),  # first: a holder sees it
        persistent_instance(settings) as instance,
    ):
        job = build_definitions(settings).resolve_job_def(PIPELINE_JOB)
        selection = _group_keys(job, groups)
        if report is not None:
            job = job.with_logger_defs({"progress": _progress_logger(report)})
            run_config = {**(run_config or {}), "loggers": {"progress": {}}}
        started = time.monotonic()
        result = None
        with _time_limit(settings.run_timeout_seconds) as timed_out:  # the run alone: reading its events is not
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config=run_config,
                asset_selection=selection,
                tags={LAUNCHED_BY_TAG: "hub run"},
            )
        total_seconds = time.monotonic() - started
        if result is None:  # stopped by its limit before Dagster could say how it ended
            return PipelineOutcome(False, errors=[_timed_out(settings)], timed_out=True, total_seconds=total_seconds)
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
        failed_step_seconds = _failed_step_seconds(instance, result.run_id, failed_steps)
    if timed_out[0]:
        errors.append(_timed_out(settings))
    return PipelineOutcome(
        result.success and not timed_out[0],
        failed_steps,
        errors,
        failed_checks,
        materializations,
        step_seconds,
        timed_out[0],
        total_seconds,
        result.run_id,
        failed_step_seconds,
    )


def _group_keys(job, groups: tuple[str, ...]) -> list | None:
    """The executable asset keys of ``groups`` (None: every asset); a name that is no group is refused."""
    if not groups:
        return None
    group_of = {key: job.asset_layer.get(key).group_name for key in job.asset_layer.executable_asset_keys}
    unknown = set(groups) - set(group_of.values())
    if unknown:
        raise ValueError(f"not an asset group of the pipeline: {sorted(unknown)}")
    return [key for key, group in group_of.items() if group in groups]


def _timed_out(settings: Settings) -> str:
    return f"the run passed its limit of {settings.run_timeout_seconds:g} s (HUB_RUN_TIMEOUT) and was stopped"


def _failed_step_seconds(instance, run_id: str, failed_steps: list[str]) -> dict[str, float]:
    """How long each failed step ran until it failed (its failure event carries no duration)."""
    if not failed_steps:
        return {}
    kinds = {DagsterEventType.STEP_START, DagsterEventType.STEP_FAILURE}
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for entry in instance.all_logs(run_id, of_type=kinds):
        if entry.dagster_event.event_type == DagsterEventType.STEP_START:
            started[entry.step_key] = entry.timestamp
        elif entry.step_key in started:
            seconds[entry.step_key] = entry.timestamp - started[entry.step_key]
    return seconds


def _error_summary(event) -> str:
    """The failed step's exception class and message; engines hide SQL parameters, so no data leaks."""
    error = event.step_failure_data.error
    while error.cause is not None and error.cls_name in ("DagsterExecutionStepExecutionError",):
        error = error.cause
    return f"{event.step_key}: {error.cls_name}: {error.message.strip()[:500]}"
