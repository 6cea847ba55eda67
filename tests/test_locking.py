"""Runs and requests exclude each other on both stores: an erasure made while a run is landing waits for the
run, so the run cannot land the person again; a second run is refused with a clear line, not half-done."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from conftest import run_assets
from typer.testing import CliRunner

from hub import locking, storage
from hub.access.acting import Actor
from hub.cli import app
from hub.gdpr import service
from hub.runner import run_pipeline

DPO = Actor("test-dpo", "dpo")


def wait_until_held(url: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if held := locking.holder(url):
            return held
        time.sleep(0.02)
    raise AssertionError("nobody took the hub's lock")


def count(settings, sql: str, **params) -> int:
    with storage.engine(settings.database_url).connect() as connection:
        return int(connection.execute(sa.text(sql), params).scalar())


def test_an_erasure_during_a_run_waits_for_it_and_the_person_does_not_come_back(piped_settings):
    customer = storage_first_customer_with_email(piped_settings)
    records = count(piped_settings, "SELECT count(*) FROM mdm.customer_xref WHERE customer_id = :c", c=customer)
    outcomes = []
    run = threading.Thread(target=lambda: outcomes.append(run_pipeline(piped_settings)))
    run.start()
    assert wait_until_held(piped_settings.database_url).startswith("hub run")
    told = []
    identifier = ("customer", customer)
    erased = service.handle(piped_settings, DPO, "erasure", identifier, "test: checked", notice=told.append)
    run.join()
    assert outcomes[0].ok, outcomes[0].errors
    assert told and "hub run" in told[0], "the request said it waits for the run"
    assert erased.status == "completed" and erased.summary["rows_removed"] >= records
    assert count(piped_settings, "SELECT count(*) FROM mdm.customer_xref WHERE customer_id = :c", c=customer) == 0
    golden = count(piped_settings, "SELECT count(*) FROM mdm.golden_customer")
    again = run_assets(piped_settings, "landing", "golden")  # the systems still hold her: she is read again
    assert again.ok, again.errors + again.failed_checks
    assert count(piped_settings, "SELECT count(*) FROM mdm.golden_customer") == golden, "nobody new: not her"
    assert count(piped_settings, "SELECT count(*) FROM mdm.customer_xref WHERE customer_id = :c", c=customer) == 0


def storage_first_customer_with_email(settings) -> str:
    with storage.engine(settings.database_url).connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT customer_id FROM mdm.customer_xref GROUP BY customer_id "
                "HAVING count(DISTINCT source_system) >= 3 ORDER BY customer_id LIMIT 1"
            )
        ).scalar()


@contextmanager
def held_elsewhere(url: str, holder: str, seconds: float = 0.0) -> Iterator[None]:
    """The hub's lock held by another thread (as another process would) for the block, or ``seconds``."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with locking.exclusive(url, holder):
            taken.set()
            release.wait(seconds or None)

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait()
    try:
        yield
    finally:
        if not seconds:
            release.set()
        thread.join()


def test_a_second_run_is_refused_clearly_while_one_holds_the_hub(piped_settings):
    env = {**{f"HUB_{k.upper()}": str(v) for k, v in vars(piped_settings).items() if v is not None}, "COLUMNS": "200"}
    with held_elsewhere(piped_settings.database_url, "hub run (the first)"):
        refused = CliRunner().invoke(app, ["run"], env=env)
        with pytest.raises(locking.Busy, match=r"hub run \(the first\)"):
            run_pipeline(piped_settings)
    assert refused.exit_code == 3
    assert "busy" in refused.output and "hub run (the first)" in refused.output
    assert "Traceback" not in refused.output and "Could not set lock" not in refused.output
    with storage.engine(piped_settings.database_url).connect() as connection:
        runs = connection.execute(sa.text("SELECT count(*) FROM mdm.audit_log WHERE action = 'run_pipeline'"))
        assert runs.scalar() == 0, "a refused run did nothing"


def test_a_waiting_run_starts_when_the_holder_is_done(piped_settings):
    lines: list[str] = []
    begun = time.monotonic()
    with held_elsewhere(piped_settings.database_url, "a request", seconds=1.0):
        outcome = run_pipeline(piped_settings, report=lines.append, wait=60)
    assert outcome.ok and time.monotonic() - begun >= 0.5
    assert any("waiting for a request" in line for line in lines)


@pytest.mark.unit
def test_the_holder_of_an_embedded_hub_keeps_it_open_with_a_bounded_cache(tmp_path):
    """While the lock is held, every connection of the process joins one open DuckDB database, whose cache is
    bounded (``storage.kept_open``); what the holder wrote is in the file once it lets go."""
    url = f"duckdb:///{tmp_path / 'hub.duckdb'}"
    memory = "SELECT current_setting('memory_limit')"
    with sa.create_engine("duckdb:///:memory:").connect() as connection:
        connection.exec_driver_sql(f"SET memory_limit = '{storage.KEPT_OPEN_MEMORY}'")
        bounded = connection.exec_driver_sql(memory).scalar()
    with storage.engine(url).connect() as connection:
        assert connection.exec_driver_sql(memory).scalar() != bounded  # DuckDB's default: most of the machine
    with locking.exclusive(url, "test"), storage.engine(url).begin() as connection:
        assert connection.exec_driver_sql(memory).scalar() == bounded
        connection.exec_driver_sql("CREATE TABLE written AS SELECT 42 AS answer")
    with storage.engine(url).connect() as connection:
        assert connection.exec_driver_sql(memory).scalar() != bounded
        assert connection.exec_driver_sql("SELECT answer FROM written").scalar() == 42
