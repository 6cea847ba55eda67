"""Shared fixtures: simulated systems served over real HTTP, and hub databases on DuckDB and PostgreSQL."""

from __future__ import annotations

import os
import queue
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from filelock import FileLock

# pytest-xdist starts its workers with COLUMNS=80, and a rich console made at import keeps that width for
# good; without it the width is read at each use, so a test can widen it for one command.
os.environ.pop("COLUMNS", None)

from hub import storage
from hub.config import Settings, load_settings
from hub.runner import PipelineOutcome, run_pipeline
from hub.simulator import generate, running_simulator

# The tests' folders (hubs, simulated systems, Dagster's SQLite event logs, dlt's load packages) go to a RAM
# folder where one is big enough: every commit of Dagster's event log, DuckDB's checkpoints and dlt's files
# then skip the disk flush, which otherwise cost several seconds of every pipeline run. Nothing a test checks
# depends on where its folder is. PYTEST_DEBUG_TEMPROOT (or --basetemp) still chooses another place.
RAM_FOLDER, RAM_FOLDER_NEEDED = Path("/dev/shm"), 4 * 2**30


def _ram_folder_fits() -> bool:
    try:
        free = os.statvfs(RAM_FOLDER)
    except OSError:
        return False
    return os.access(RAM_FOLDER, os.W_OK) and free.f_bavail * free.f_frsize >= RAM_FOLDER_NEEDED


if "PYTEST_DEBUG_TEMPROOT" not in os.environ and _ram_folder_fits():
    os.environ["PYTEST_DEBUG_TEMPROOT"] = str(RAM_FOLDER)  # read by pytest's tmp_path, inherited by xdist workers

POSTGRES_ADMIN_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RUN_VARIABLE = "CUSTOMER_HUB_TEST_RUN"  # names the shared template databases of one test run
BACKENDS = ("duckdb", "postgresql")  # the hub's two stores, both first-class: every store test runs on each
TEST_PERSONS = 300
TEST_SEED = 7
TEST_TODAY = date(2026, 11, 1)
# The prepared hub publishes only a plan: its copies are served pristine systems, which hold nothing of it.
PUBLISH_NOTHING = {"ops": {"publish__deliveries": {"config": {"dry_run": True}}}}


def run_assets(settings: Settings, *groups: str, run_config: dict | None = None) -> PipelineOutcome:
    """The hub's pipeline run for the assets of ``groups`` (and their checks) only.

    For a test whose claim is about part of a run (what matching does with a steward's decision, what a
    reload lands): the groups after the ones it looks at cost most of a run and change nothing it checks.
    A test of the whole run, the command line or the run's lock runs every group.
    """
    assert groups, "name the groups to run"
    return run_pipeline(settings, run_config=run_config, groups=groups)


PIPELINE_FIXTURES = {"settings", "piped_settings", "simulator", "systems_dir", "pristine_systems"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test by what it needs, so that `pytest -m unit` runs the quick ones alone:
    ``pipeline`` (a simulator or a hub the pipeline built), ``postgres`` (the server), else ``unit``."""
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        if needs & PIPELINE_FIXTURES:
            item.add_marker(pytest.mark.pipeline)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgresql" in callspec.id:
            item.add_marker(pytest.mark.postgres)
        if not needs & PIPELINE_FIXTURES and "database_url" not in needs:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(autouse=True)
def _no_ambient_hub_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests configure the hub explicitly; a developer's own HUB_* variables must not leak in."""
    for name in list(os.environ):
        if name.startswith("HUB_") and name != "HUB_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


def _shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run sees (the parent of the workers' own temporary folders)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _built_once(root: Path, name: str, build: Callable[[Path], str]) -> str:
    """``build(folder)`` run by the first worker to ask, under a file lock; the others wait and reuse it.

    Returns what ``build`` returned (kept in the folder's ``built`` file), so that a pipeline run shared by
    all workers costs one run per test session, not one per worker and backend switch."""
    folder = root / name
    with FileLock(str(root / f"{name}.lock")):
        done = folder / "built"
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            done.write_text(build(folder))
        return done.read_text()


def pytest_configure(config: pytest.Config) -> None:
    """Name this test run (the controller's name reaches the xdist workers through the environment)."""
    os.environ.setdefault(RUN_VARIABLE, uuid.uuid4().hex[:10])


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller drops the run's shared template databases once every worker is done with them."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    try:
        names = _on_server("SELECT datname FROM pg_database WHERE starts_with(datname, :p)", p=_template_prefix())
    except sa.exc.OperationalError:
        return  # no server: the run used none
    for name in names:
        _on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _template_prefix() -> str:
    return f"hub_tpl_{os.environ[RUN_VARIABLE]}_"


@pytest.fixture(scope="session")
def pristine_systems(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated systems every test starts from, generated once for all workers (read-only: copy them)."""

    def build(folder: Path) -> str:
        generate(folder / "systems", persons=TEST_PERSONS, seed=TEST_SEED, today=TEST_TODAY)
        return str(folder / "systems")

    return Path(_built_once(_shared_root(tmp_path_factory), "pristine", build))


@pytest.fixture
def systems_dir(pristine_systems: Path, tmp_path: Path) -> Path:
    """A private copy of the simulated systems, free to be advanced by the test."""
    copy = tmp_path / "systems"
    shutil.copytree(pristine_systems, copy)
    return copy


class _Afterwards:
    """Clean-ups that nothing after a test waits for, done in order on one background thread of the process.

    Stopping a test's simulator (its server finishes its current tick and lets its connections go: about
    0.2 s) and dropping a test's PostgreSQL database take longer than most tests; the next test starts
    meanwhile. The session waits for every one at its end and fails if one failed (``_clean_ups_done``)."""

    def __init__(self) -> None:
        self.work: queue.Queue[Callable[[], object]] = queue.Queue()
        self.failures: list[str] = []
        threading.Thread(target=self._run, name="test-clean-ups", daemon=True).start()

    def _run(self) -> None:
        while True:
            task = self.work.get()
            try:
                task()
            except Exception as error:  # noqa: BLE001 (reported when the session ends)
                self.failures.append(f"{type(error).__name__}: {error}")
            finally:
                self.work.task_done()

    def finish(self) -> None:
        self.work.join()
        assert not self.failures, f"clean-ups after tests failed: {self.failures}"


_afterwards = _Afterwards()


@pytest.fixture(scope="session", autouse=True)
def _clean_ups_done() -> Iterator[None]:
    yield
    _afterwards.finish()


@pytest.fixture
def simulator(systems_dir: Path):
    """The simulated systems as a server of the contract page alone would serve them (``strict``): the hub
    must work with any implementation of that page, not with the real products' extras. The server stops
    in the background once the test is done."""
    served = running_simulator(systems_dir, strict=True)
    sim = served.__enter__()
    try:
        yield sim
    finally:
        _afterwards.work.put(lambda: served.__exit__(None, None, None))


def _on_server(*statements: str, **params) -> list:
    """Statements outside any transaction on the test server's admin database, on one connection; the first
    column's values of the last."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            for sql in statements:
                result = connection.execute(sa.text(sql), params)
            return list(result.scalars()) if result.returns_rows else []
    finally:
        admin.dispose()


def _create_database(name: str, template: str | None = None) -> str:
    """A new database on the server (a copy of ``template`` if given); its URL.

    Its commits do not wait for the server's disk flush (``synchronous_commit = off``: a crash of the server
    could lose the last commits, never corrupt them), as a throwaway test database can afford: a pipeline run
    commits several hundred times. What a transaction sees and what it holds are unchanged."""
    _on_server(
        f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""),
        f'ALTER DATABASE "{name}" SET synchronous_commit = off',
    )
    return sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _postgres_database(template: str | None = None) -> Iterator[str]:
    """A database of the test's own, dropped after it (in the background: ``_Afterwards``)."""
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    url = _create_database(name, template)
    try:
        yield url
    finally:
        storage.engine(url).dispose()
        _afterwards.work.put(lambda: _on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The hub's database, once on an embedded DuckDB file and once on the PostgreSQL server."""
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'hub.duckdb'}"
        yield url
        storage.engine(url).dispose()
    else:
        yield from _postgres_database()


def hub_settings(sim, database_url: str, home: Path) -> Settings:
    return load_settings(
        {
            **sim.hub_environment(),
            "HUB_HOME": str(home),
            "HUB_DATABASE_URL": database_url,
            "HUB_OUTBOX_DIR": str(home / "outbox"),
        }
    )


@pytest.fixture
def make_settings():
    """Settings pointing at a running simulator: ``make_settings(sim, database_url, home)``."""
    return hub_settings


@pytest.fixture
def settings(simulator, database_url: str, tmp_path: Path) -> Settings:
    return hub_settings(simulator, database_url, tmp_path / "hub")


@pytest.fixture(scope="session")
def _piped_templates(tmp_path_factory: pytest.TempPathFactory, pristine_systems: Path) -> Callable[[str], tuple]:
    """The whole pipeline run once per backend over the pristine systems, shared by every worker:
    ``template(backend)`` gives (hub home, URL), built on first use."""

    def template(backend: str) -> tuple[Path, str]:
        def build(root: Path) -> str:
            home, systems = root / "hub", root / "systems"
            shutil.copytree(pristine_systems, systems)
            if backend == "duckdb":
                url = f"duckdb:///{home / 'hub.duckdb'}"
            else:
                url = _create_database(f"{_template_prefix()}{backend}")
            with running_simulator(systems, strict=True) as sim:
                outcome = run_pipeline(hub_settings(sim, url, home), run_config=PUBLISH_NOTHING)
            assert outcome.ok, outcome.errors
            storage.engine(url).dispose()
            return url

        # Each xdist worker first builds the template its number points at, so that the two are built at
        # once by two workers, not one after the other while the second worker waits for the first.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        if worker.startswith("gw") and worker[2:].isdigit():
            first = BACKENDS[int(worker[2:]) % len(BACKENDS)]
            if first != backend:
                template(first)
        url = _built_once(_shared_root(tmp_path_factory), f"piped-{backend}", build)
        return _shared_root(tmp_path_factory) / f"piped-{backend}" / "hub", url

    return template


@pytest.fixture(params=BACKENDS)
def piped_backend(request: pytest.FixtureRequest) -> str:
    """The store of ``piped_settings``; a test narrows it: ``parametrize("piped_backend", [...], indirect=True)``."""
    return request.param


@pytest.fixture
def piped_settings(_piped_templates, piped_backend: str, simulator, tmp_path: Path) -> Iterator[Settings]:
    """A private copy of a hub after one full pipeline run, on DuckDB and on PostgreSQL.

    The copy's simulator serves the same pristine systems, so a further run is a reload of the same
    data. Copying a file or cloning a template database takes a fraction of a pipeline run.
    """
    template_home, template_url = _piped_templates(piped_backend)
    home = tmp_path / "hub"
    shutil.copytree(template_home, home)
    if piped_backend == "duckdb":
        url = f"duckdb:///{home / 'hub.duckdb'}"
        yield hub_settings(simulator, url, home)
        storage.engine(url).dispose()
    else:
        template = sa.make_url(template_url).database
        for url in _postgres_database(template=template):
            yield hub_settings(simulator, url, home)
