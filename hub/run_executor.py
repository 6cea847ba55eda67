"""The executor of every run Dagster starts (UI, schedule, sensor): the hub's run lock held around the whole run.

``hub run`` takes the lock itself (``hub.runner``) and executes in-process, which bypasses a job's executor.
A run that Dagster's run worker executes goes through this executor instead: it takes the same lock
(``hub.locking``) before its first step and frees it after its last, in the run worker's process, so the
run excludes ``hub run``, data-subject requests and ``hub publish`` exactly as they exclude each other.
A step resource or hook could not do this: with the multiprocess executor (PostgreSQL) each step runs in a
process of its own, and between two steps nothing would hold the lock.

A run that finds the lock held waits for it (``DEFAULT_LOCK_WAIT_SECONDS``, or the run's tag
``hub/lock_wait_seconds``; ``0`` refuses at once) and past that fails with ``Busy`` naming the holder.
The instance's run queue (``hub.instance``) already keeps Dagster's own runs to one at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import DagsterEvent, Executor, ExecutorDefinition
from dagster._core.execution.retries import RetryMode  # not exported; an executor must name it

from hub import locking
from hub.instance import flush_less

flush_less()  # the run worker that executes a run the UI started records its events as `hub run` does

LOCK_WAIT_TAG = "hub/lock_wait_seconds"
DEFAULT_LOCK_WAIT_SECONDS = 30 * 60.0  # long enough for any request, short of a whole `hub run`


class RunLockedExecutor(Executor):
    """Runs ``inner`` (the in-process or multiprocess executor) while holding the hub's lock."""

    def __init__(self, inner: Executor, database_url: str) -> None:
        self.inner = inner
        self.database_url = database_url

    @property
    def retries(self) -> RetryMode:
        return self.inner.retries

    @property
    def step_dependency_config(self):
        return self.inner.step_dependency_config

    def execute(self, plan_context, execution_plan) -> Iterator[DagsterEvent]:
        with holding_run_lock(plan_context, self.database_url):
            yield from self.inner.execute(plan_context, execution_plan)


@contextmanager
def holding_run_lock(plan_context, database_url: str) -> Iterator[None]:
    """The hub's run lock for the block, as the run's holder, waiting as long as the run's tag says."""
    run = plan_context.dagster_run
    wait = lock_wait_seconds(run.tags.get(LOCK_WAIT_TAG))
    holder = f"dagster run {run.run_id}"
    with locking.exclusive(database_url, holder, wait=wait, notice=plan_context.log.info):
        plan_context.log.info(f"holding the hub's run lock for {holder}")
        yield


def lock_wait_seconds(tag: str | None) -> float:
    if tag is None or not tag.strip():
        return DEFAULT_LOCK_WAIT_SECONDS
    try:
        seconds = float(tag)
    except ValueError:
        raise ValueError(f"the run tag {LOCK_WAIT_TAG} must be a number of seconds") from None
    return max(seconds, 0.0)


def run_locked(base: ExecutorDefinition, database_url: str) -> ExecutorDefinition:
    """``base`` (same name and config) with every run it executes holding the hub's lock for ``database_url``."""

    def create(init_context) -> Executor:
        return RunLockedExecutor(base.executor_creation_fn(init_context), database_url)

    return ExecutorDefinition(
        name=base.name,
        config_schema=base.config_schema,
        requirements=base.get_requirements,
        executor_creation_fn=create,
        description=f"{base.description or base.name}; the whole run holds the hub's run lock (hub/locking.py)",
    )
