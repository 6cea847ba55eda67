"""Shared fixtures: simulated systems served over real HTTP, and hub databases on DuckDB and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

# pytest-xdist starts its workers with COLUMNS=80, and a rich console made at import keeps that width for
# good; without it the width is read at each use, so a test can widen it for one command.
os.environ.pop("COLUMNS", None)

from hub import storage
from hub.config import Settings, load_settings
from hub.runner import run_pipeline
from hub.simulator import generate, running_simulator

POSTGRES_ADMIN_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_PERSONS = 300
TEST_SEED = 7
TEST_TODAY = date(2026, 11, 1)
# The prepared hub publishes only a plan: its copies are served pristine systems, which hold nothing of it.
PUBLISH_NOTHING = {"ops": {"publish__deliveries": {"config": {"dry_run": True}}}}


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


@pytest.fixture(scope="session")
def pristine_systems(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pristine") / "systems"
    generate(out, persons=TEST_PERSONS, seed=TEST_SEED, today=TEST_TODAY)
    return out


@pytest.fixture
def systems_dir(pristine_systems: Path, tmp_path: Path) -> Path:
    """A private copy of the simulated systems, free to be advanced by the test."""
    copy = tmp_path / "systems"
    shutil.copytree(pristine_systems, copy)
    return copy


@pytest.fixture
def simulator(systems_dir: Path):
    """The simulated systems as a server of the contract page alone would serve them (``strict``): the hub
    must work with any implementation of that page, not with the real products' extras."""
    with running_simulator(systems_dir, strict=True) as sim:
        yield sim


def _postgres_database(template: str | None = None) -> Iterator[str]:
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    url = sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        storage.engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["duckdb", "postgresql"])
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


@pytest.fixture(scope="session", params=["duckdb", "postgresql"])
def _piped_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pristine_systems: Path):
    """The whole pipeline run once per backend over the pristine systems: (backend, hub home, URL)."""
    root = tmp_path_factory.mktemp(f"piped-{request.param}")
    home = root / "hub"
    systems = root / "systems"
    shutil.copytree(pristine_systems, systems)
    databases = iter([f"duckdb:///{home / 'hub.duckdb'}"]) if request.param == "duckdb" else _postgres_database()
    url = next(databases)
    with running_simulator(systems, strict=True) as sim:
        outcome = run_pipeline(hub_settings(sim, url, home), run_config=PUBLISH_NOTHING)
    assert outcome.ok, outcome.errors
    storage.engine(url).dispose()
    yield request.param, home, url
    next(databases, None)


@pytest.fixture
def piped_settings(_piped_template, simulator, tmp_path: Path) -> Iterator[Settings]:
    """A private copy of a hub after one full pipeline run, on DuckDB and on PostgreSQL.

    The copy's simulator serves the same pristine systems, so a further run is a reload of the same
    data. Copying a file or cloning a template database takes a fraction of a pipeline run.
    """
    backend, template_home, template_url = _piped_template
    home = tmp_path / "hub"
    shutil.copytree(template_home, home)
    if backend == "duckdb":
        url = f"duckdb:///{home / 'hub.duckdb'}"
        yield hub_settings(simulator, url, home)
        storage.engine(url).dispose()
    else:
        template = sa.make_url(template_url).database
        for url in _postgres_database(template=template):
            yield hub_settings(simulator, url, home)
