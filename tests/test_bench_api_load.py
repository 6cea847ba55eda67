"""The benchmark's API load stage, briefly, on a prepared hub (DuckDB and PostgreSQL): it serves the API in a
process of its own, every request of both phases is answered, the figures are reported, and the stage leaves
no working client and no personal data behind in what it prints. Timings are not asserted: they depend on the
machine."""

from __future__ import annotations

import io
import math

from rich.console import Console
from typer.testing import CliRunner

from hub import audit, storage
from hub.bench.api_load import environment, measure_api
from hub.cli import app


def test_the_api_load_stage_answers_every_request_and_reports_the_figures(piped_settings):
    printed = io.StringIO()
    figures = measure_api(piped_settings, clients=4, seconds=1.0, console=Console(file=printed, width=160))

    assert [p["endpoint"] for p in figures["phases"]] == ["lookup by email", "member paging"]
    for phase in figures["phases"]:
        assert phase["clients"] == 4
        assert phase["requests"] > 0 and phase["failed"] == 0, (phase["endpoint"], phase["failures"])
        assert phase["per_second"] > 0
        assert all(math.isfinite(phase[k]) and phase[k] > 0 for k in ("p50_ms", "p99_ms", "max_ms"))
        assert phase["p50_ms"] <= phase["p99_ms"] <= phase["max_ms"]
        assert phase["server_cpu_ms_per_request"] > 0, "the server's processor time per answer (Linux)"
    output = printed.getvalue()
    assert "lookup by email" in output and "member paging" in output and "p99 ms" in output and "server CPU" in output
    assert "@" not in output, "no email reaches the report"

    with storage.engine(piped_settings.database_url).connect() as connection:
        clients = storage.read_frame(connection, "SELECT name, revoked_at FROM mdm.api_client")
        reads = storage.read_frame(
            connection, "SELECT count(*) AS n FROM mdm.audit_log WHERE action = 'read' AND actor LIKE 'bench-%'"
        )
        assert audit.verify(connection).ok
    bench = clients[clients["name"].str.startswith("bench-")]
    assert len(bench) == 2 and bench["revoked_at"].notna().all(), "the stage's clients are revoked afterwards"
    answered = sum(p["requests"] for p in figures["phases"])
    assert int(reads["n"].iloc[0]) >= answered, "every answered read is in the audit log"


def test_several_server_processes_serve_postgresql_and_duckdb_stays_one(piped_settings):
    """``hub api serve --workers N``: on PostgreSQL every answer of every process is in one unbroken audit chain;
    an embedded DuckDB file opens in one process only, so more workers are refused (exit 2)."""
    if storage.is_duckdb(piped_settings.database_url):
        result = CliRunner().invoke(app, ["api", "serve", "--workers", "2"], env=environment(piped_settings))
        assert result.exit_code == 2 and "one process" in result.output
        return
    figures = measure_api(piped_settings, clients=4, seconds=1.0, console=Console(file=io.StringIO()), workers=2)
    assert figures["workers"] == 2
    for phase in figures["phases"]:
        assert phase["requests"] > 0 and phase["failed"] == 0, (phase["endpoint"], phase["failures"])
    with storage.engine(piped_settings.database_url).connect() as connection:
        assert audit.verify(connection).ok
