"""Runs on a Dask cluster (dagster-dask): every step a task on a worker, the whole run holding the hub's lock.

``HUB_EXECUTOR=dask`` chooses it for the runs Dagster starts. ``HUB_DASK_SCHEDULER`` (``tcp://host:8786``)
is an existing cluster's scheduler; without it each run starts a local cluster, worker processes on this
machine (``dask.distributed.LocalCluster``): the same scheduler and workers, which is what the tests use.
Workers import the hub's code and read the same ``HUB_*`` settings; they reach the hub's database (they
read records from it) and the Dagster instance's storage folder (the steps' outputs pass through it).

dagster-dask checks that a run's executor is its own ``DaskExecutor``, so the lock is taken by a subclass
here rather than by ``run_executor.RunLockedExecutor``'s wrapping. It plans every step before the first
runs, so the matching shards are a fixed number of steps (``HUB_MATCH_SHARDS``), not a dynamic fan-out.
"""

from __future__ import annotations

from collections.abc import Iterator

from dagster import DagsterEvent, ExecutorDefinition, multiple_process_executor_requirements
from dagster_dask.executor import DaskExecutor

from hub.run_executor import holding_run_lock


class RunLockedDaskExecutor(DaskExecutor):
    def __init__(self, cluster_type: str, cluster_configuration: dict, database_url: str) -> None:
        super().__init__(cluster_type, cluster_configuration)
        self.database_url = database_url

    def execute(self, plan_context, execution_plan) -> Iterator[DagsterEvent]:
        with holding_run_lock(plan_context, self.database_url):
            yield from super().execute(plan_context, execution_plan)


def locked_dask_executor(database_url: str, scheduler: str | None) -> ExecutorDefinition:
    """The Dask executor on the scheduler at ``scheduler``, or on a local cluster when there is none."""

    def create(_init_context) -> RunLockedDaskExecutor:
        if scheduler:
            return RunLockedDaskExecutor("existing", {"address": scheduler}, database_url)
        return RunLockedDaskExecutor("local", {}, database_url)

    return ExecutorDefinition(
        name="dask",
        executor_creation_fn=create,
        requirements=multiple_process_executor_requirements(),  # a reconstructable job, a persistent instance
        description="dagster-dask; the whole run holds the hub's run lock (hub/locking.py)",
    )
