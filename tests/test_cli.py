"""The `hub` command line as a user drives it, through HUB_* variables, against the running simulator."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from hub import storage
from hub.cli import app


def environment(sim, database_url: str, home) -> dict[str, str]:
    return {
        **sim.hub_environment(),
        "COLUMNS": "200",  # a wide terminal, so that table cells are not cut
        "HUB_HOME": str(home),
        "HUB_DATABASE_URL": database_url,
    }


def personal_values(systems) -> list[str]:
    with sqlite3.connect(systems / "erp.sqlite") as connection:
        rows = connection.execute("SELECT email, phone, last_name FROM customer LIMIT 60").fetchall()
    return [value for row in rows for value in row if value and len(value) > 4]


def test_hub_run_lands_everything_and_prints_no_personal_data(simulator, systems_dir, tmp_path):
    env = environment(simulator, f"duckdb:///{tmp_path / 'hub.duckdb'}", tmp_path)
    result = CliRunner().invoke(app, ["run"], env=env)
    assert result.exit_code == 0, result.output
    assert "Pipeline succeeded" in result.output and "Golden customers" in result.output
    leaked = [v for v in personal_values(systems_dir) if v in result.output]
    assert leaked == []
    assert simulator.webshop_secret not in result.output and simulator.esp_key not in result.output

    status = CliRunner().invoke(app, ["status"], env=env)
    assert status.exit_code == 0 and "loyalty_purchase" in status.output
    quarantine = CliRunner().invoke(app, ["quarantine", "--system", "loyalty"], env=env)
    assert quarantine.exit_code == 0 and "***" in quarantine.output
    assert [v for v in personal_values(systems_dir) if v in quarantine.output] == []


def test_missing_settings_are_named_and_secrets_never_echoed(tmp_path):
    env = {"HUB_HOME": str(tmp_path), "HUB_WEBSHOP_SECRET": "cs_do_not_print_me", "HUB_ESP_KEY": "k-us1"}
    result = CliRunner().invoke(app, ["run"], env=env)
    assert result.exit_code == 2
    assert "HUB_ERP_URL" in result.output and "cs_do_not_print_me" not in result.output


def test_a_failed_system_fails_the_run_and_the_next_run_finishes_the_job(simulator, tmp_path):
    env = environment(simulator, f"duckdb:///{tmp_path / 'hub.duckdb'}", tmp_path)
    broken = CliRunner().invoke(app, ["run"], env={**env, "HUB_ESP_KEY": "wrong-us1"})
    assert broken.exit_code == 1
    assert "land_esp" in broken.output and "wrong-us1" not in broken.output
    with storage.engine(env["HUB_DATABASE_URL"]).connect() as connection:
        landed_erp = connection.execute(sa.text("SELECT count(*) FROM landing.erp_customer")).scalar()
    assert landed_erp > 0, "the systems that answered are landed"

    fixed = CliRunner().invoke(app, ["run"], env=env)
    assert fixed.exit_code == 0, fixed.output
    with storage.engine(env["HUB_DATABASE_URL"]).connect() as connection:
        members = connection.execute(sa.text("SELECT count(*) FROM landing.esp_member")).scalar()
        customers = connection.execute(sa.text("SELECT count(*) FROM mdm.golden_customer")).scalar()
    assert members > 0 and customers > 0


def test_the_installed_hub_command_starts_in_a_fresh_process():
    """Imports as a newcomer's shell does them, in a new interpreter: an import cycle would stop it here."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("hub")), "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "dsr" in result.stdout
