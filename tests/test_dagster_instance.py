"""Dagster's instance of the hub: persistent under the hub's home, one queued run at a time, on PostgreSQL in
production; and every run Dagster starts holds the hub's run lock as `hub run` does."""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster import (
    AssetCheckResult,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    asset,
    asset_check,
    execute_job,
    executor,
    in_process_executor,
    job,
    materialize,
    op,
    reconstructable,
)

from hub import locking
from hub.config import load_settings
from hub.definitions import PIPELINE_JOB, build_definitions
from hub.instance import instance_dir, persistent_instance, prepare
from hub.run_executor import LOCK_WAIT_TAG, run_locked
from hub.runner import LAUNCHED_BY_TAG, run_pipeline

REPOSITORY = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LOCK_URL_VARIABLE = "HUB_TEST_LOCK_URL"  # the tiny job below is rebuilt by name, so it reads its store from here


def test_a_run_of_a_group_the_pipeline_does_not_have_is_refused_before_it_starts(tmp_path):
    settings = load_settings({"HUB_HOME": str(tmp_path)})
    with pytest.raises(ValueError, match="'lands'"):
        run_pipeline(settings, groups=("landing", "lands"))
    with persistent_instance(settings) as instance:
        assert not instance.get_runs(), "nothing ran"


def test_the_instance_lives_under_the_hub_home_and_queues_one_run_at_a_time(tmp_path):
    settings = load_settings({"HUB_HOME": str(tmp_path)})
    home = prepare(settings)
    assert home == tmp_path / ".hub" / "dagster" == instance_dir(settings)
    with persistent_instance(settings) as instance:
        assert instance.is_persistent
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 1
        assert Path(instance.root_directory) == home
    moved = load_settings({"HUB_HOME": str(tmp_path / "copy")})
    shutil.copytree(tmp_path / ".hub", tmp_path / "copy" / ".hub")
    assert str(home / "events") not in (prepare(moved) / "dagster.yaml").read_text(), "a copied home records apart"
    own = "# a deployment's own instance\ntelemetry:\n  enabled: false\n"
    (home / "dagster.yaml").write_text(own)
    prepare(settings)
    assert (home / "dagster.yaml").read_text() == own, "the hub never overwrites a deployment's configuration"


def test_every_job_runs_on_the_executor_that_takes_the_run_lock(tmp_path):
    defs = build_definitions(load_settings({"HUB_HOME": str(tmp_path)}))
    for job_def in (defs.resolve_job_def(PIPELINE_JOB), defs.resolve_implicit_global_asset_job_def()):
        assert job_def.executor_def.name == "in_process"
        assert "run lock" in (job_def.executor_def.description or "")


def test_hub_run_is_recorded_in_the_hub_instance_with_its_checks(piped_settings):
    """The prepared hub was built by one `run_pipeline`: its home's instance holds that run for the UI."""
    with persistent_instance(piped_settings) as instance:
        runs = instance.get_runs()
        assert runs and runs[0].status == DagsterRunStatus.SUCCESS
        assert runs[0].job_name == PIPELINE_JOB and runs[0].tags[LAUNCHED_BY_TAG] == "hub run"
        checks = instance.all_logs(runs[0].run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        materialised = instance.all_logs(runs[0].run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
        assert len(checks) >= 18 and len(materialised) >= 15


# A tiny job on the executor of the hub's definitions: each step notes who holds the hub's lock, and whether
# another thread (a `hub run`, a request) would be refused meanwhile.
seen: list[tuple[str, str]] = []


@op
def first_step() -> int:
    url = os.environ[LOCK_URL_VARIABLE]
    outsider = threading.Thread(target=lambda: seen.append(("outsider", _try_lock(url))))
    outsider.start()
    outsider.join()
    with locking.exclusive(url, "a step's own request"):  # the run's own thread just goes on
        seen.append(("first", locking.holder(url)))
    return 1


@op
def second_step(value: int) -> int:
    seen.append(("second", locking.holder(os.environ[LOCK_URL_VARIABLE])))
    return value + 1


def _try_lock(url: str) -> str:
    try:
        with locking.exclusive(url, "hub run"):
            return "taken"
    except locking.Busy as busy:
        return str(busy)


@executor(name="in_process", config_schema=in_process_executor.config_schema)
def hub_executor(init_context):
    """The hub's executor on this test's store (Dagster keeps the job below once built, so it reads it late)."""
    return run_locked(in_process_executor, os.environ[LOCK_URL_VARIABLE]).executor_creation_fn(init_context)


@job(executor_def=hub_executor)
def locked_job():
    second_step(first_step())


@pytest.fixture
def lock_url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(LOCK_URL_VARIABLE, database_url)
    seen.clear()
    return database_url


def test_a_run_dagster_starts_holds_the_hub_lock_from_first_step_to_last(lock_url, tmp_path):
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        result = execute_job(reconstructable(locked_job), instance=instance, tags={LOCK_WAIT_TAG: "0"})
        assert result.success
        holder = f"dagster run {result.run_id}"
    assert [name for name, _ in seen] == ["outsider", "first", "second"]
    assert holder in seen[0][1] and "busy" in seen[0][1], "a `hub run` meanwhile is refused, naming the run"
    assert seen[1][1].startswith(holder) and seen[2][1].startswith(holder)
    assert locking.holder(lock_url) == "", "freed after the run"


def test_a_run_dagster_starts_is_refused_while_the_hub_is_held(lock_url, tmp_path):
    with held_elsewhere(lock_url, "hub run (the first)"), DagsterInstance.local_temp(str(tmp_path)) as instance:
        result = execute_job(reconstructable(locked_job), instance=instance, tags={LOCK_WAIT_TAG: "0"})
        assert not result.success
        failure = instance.all_logs(result.run_id, of_type=DagsterEventType.RUN_FAILURE)
        message = failure[0].dagster_event.event_specific_data.error.message
    assert "busy" in message and "hub run (the first)" in message
    assert seen == [], "no step ran"


def test_a_run_dagster_starts_waits_for_the_holder_by_default(lock_url, tmp_path):
    """The holder (an erasure) lets go only once the run says it is waiting: then the run goes on."""
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        with held_elsewhere(lock_url, "an erasure", until=lambda: _says(instance, "waiting for an erasure")):
            result = execute_job(reconstructable(locked_job), instance=instance)
        assert result.success
        assert _says(instance, "waiting for an erasure", result.run_id)
    assert [name for name, _ in seen] == ["outsider", "first", "second"]


def _says(instance: DagsterInstance, text: str, run_id: str | None = None) -> bool:
    runs = [run_id] if run_id else [run.run_id for run in instance.get_runs()]
    return any(text in entry.user_message for run in runs for entry in instance.all_logs(run))


@contextmanager
def held_elsewhere(url: str, holder: str, until: Callable[[], bool] | None = None) -> Iterator[None]:
    """The hub's lock held by another thread (as another process would) for the block, or until ``until()``."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with locking.exclusive(url, holder):
            taken.set()
            deadline = time.monotonic() + 120
            while until is not None and not until() and time.monotonic() < deadline:
                time.sleep(0.1)
            if until is None:
                release.wait()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait()
    try:
        yield
    finally:
        release.set()
        thread.join()


@asset
def tiny_asset() -> int:
    return 1


@asset_check(asset=tiny_asset)
def tiny_asset_is_one(tiny_asset: int) -> AssetCheckResult:
    return AssetCheckResult(passed=tiny_asset == 1)


@pytest.fixture
def dagster_database() -> Iterator[str]:
    """A fresh database on the PostgreSQL server, as a URL for dagster-postgres (on psycopg2, as documented)."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"hub_test_dagster_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = sa.make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg2", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_the_production_example_keeps_runs_and_checks_on_postgresql(dagster_database, tmp_path, monkeypatch):
    """dagster.yaml.example as documented: the URL from DAGSTER_POSTGRES_URL, a run and its check recorded."""
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", dagster_database)
    shutil.copy(REPOSITORY / "dagster.yaml.example", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 1
        result = materialize([tiny_asset, tiny_asset_is_one], instance=instance, tags={LAUNCHED_BY_TAG: "test"})
        assert result.success
    with DagsterInstance.from_config(str(tmp_path)) as reopened:  # what the UI would read
        run = reopened.get_run_by_id(result.run_id)
        assert run is not None and run.status == DagsterRunStatus.SUCCESS and run.tags[LAUNCHED_BY_TAG] == "test"
        assert reopened.get_latest_materialization_event(tiny_asset.key) is not None
        checks = reopened.all_logs(result.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        assert [c.dagster_event.event_specific_data.passed for c in checks] == [True]
    engine = sa.create_engine(dagster_database)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 1, "in PostgreSQL, not a file"
    engine.dispose()
