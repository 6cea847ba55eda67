"""Bad configuration ends a command with one clear line and an exit code, never a traceback or a secret;
``hub --debug`` shows the traceback; a run stops at its overall limit."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.config import ConfigurationError, load_settings
from hub.runner import run_pipeline

SECRET = "pw-do-not-print-me"


def invoke(*args: str, **env: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **env})


def one_clear_line(result, code: int, *named: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and SECRET not in result.output
    assert len(result.output.strip().splitlines()) <= 2, result.output
    for name in named:
        assert name in result.output, result.output


@pytest.mark.parametrize(
    ("url", "code", "named"),
    [
        (f"postgresql://hub:{SECRET}@127.0.0.1:1/hub", 1, "HUB_DATABASE_URL"),
        ("duckdb+nosuchdriver:///hub.duckdb", 2, "HUB_DATABASE_URL"),
        (f"mysql://hub:{SECRET}@127.0.0.1/hub", 2, "HUB_DATABASE_URL"),
        ("not a url at all", 2, "HUB_DATABASE_URL"),
    ],
)
def test_a_bad_database_url_is_one_line_naming_the_variable(tmp_path, url, code, named):
    one_clear_line(invoke("status", HUB_HOME=str(tmp_path), HUB_DATABASE_URL=url), code, named)


def test_a_home_that_cannot_be_written_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = invoke(
        "dsr",
        "access",
        "--email",
        "someone@example.com",
        HUB_HOME=str(blocker / "home"),
        HUB_DATABASE_URL=f"duckdb:///{tmp_path / 'hub.duckdb'}",
    )
    one_clear_line(result, 2, "HUB_HOME")


def test_a_bad_config_file_and_a_bad_limit_are_named(tmp_path):
    (tmp_path / "hub.toml").write_text("database_url = \n")
    one_clear_line(invoke("status", HUB_HOME=str(tmp_path)), 2, "hub.toml")
    with pytest.raises(ConfigurationError, match="HUB_RUN_TIMEOUT must be a positive number"):
        _ = load_settings(
            {"HUB_HOME": str(tmp_path), "HUB_CONFIG": "/none", "HUB_RUN_TIMEOUT": "soon"}
        ).run_timeout_seconds


def test_debug_shows_the_traceback(tmp_path):
    result = invoke("--debug", "status", HUB_HOME=str(tmp_path), HUB_DATABASE_URL="mysql://x@127.0.0.1/hub")
    assert result.exit_code != 0 and result.exception is not None
    assert "ConfigurationError" in type(result.exception).__name__


@contextmanager
def silent_server() -> Iterator[str]:
    """An HTTP server that accepts connections and never answers (a fault the simulator cannot make)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_a_run_stops_at_its_overall_limit(simulator, tmp_path):
    with silent_server() as url:
        settings = load_settings(
            {
                **simulator.hub_environment(),
                "HUB_WEBSHOP_URL": url,
                "HUB_HOME": str(tmp_path),
                "HUB_DATABASE_URL": f"duckdb:///{tmp_path / 'hub.duckdb'}",
                "HUB_RUN_TIMEOUT": "4",
            }
        )
        begun = time.monotonic()
        outcome = run_pipeline(settings)
    assert time.monotonic() - begun < 30
    assert outcome.timed_out and not outcome.ok
    assert any("HUB_RUN_TIMEOUT" in error for error in outcome.errors)
