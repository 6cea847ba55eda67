"""`hub --help` starts at once: the command modules import the heavy libraries inside the commands only."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ["dagster", "pandas", "sqlalchemy", "dlt", "fastapi", "duckdb", "recordlinkage", "alembic", "pandera"]
PROBE = """
import sys
from typer.testing import CliRunner
from hub.cli import app
for args in ({args!r}):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
print(",".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


@pytest.mark.parametrize("args", [["--help"], ["dsr", "--help"], ["dsr", "access", "--help"], ["publish", "--help"]])
def test_help_imports_no_heavy_library(args):
    probe = PROBE.format(args=[args], heavy=HEAVY)
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"`hub {' '.join(args)}` imported {loaded}"


REQUEST_PATHS = ["hub.gdpr.service", "hub.review", "hub.golden_store", "hub.api.app", "hub.commands.dsr"]
NOT_FOR_REQUESTS = ["recordlinkage", "sklearn", "dlt", "alembic", "dagster"]


def test_requests_and_the_api_import_neither_the_matcher_nor_the_loaders():
    """A data-subject request or the API server needs no comparison machinery (recordlinkage pulls in
    scikit-learn), no dlt and no Alembic (the schema is up to date): together they took seconds to import."""
    imports = f"import sys, {', '.join(REQUEST_PATHS)}"
    probe = f"{imports}\nprint(','.join(m for m in {NOT_FOR_REQUESTS!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"the request paths imported {loaded}"
