"""Dagster's own instance for the hub: where the history of every run, its logs and check results are kept.

``hub run``, ``hub demo`` and ``hub bench`` run the pipeline in this process on a persistent instance in
``$HUB_HOME/.hub/dagster`` (``DAGSTER_HOME`` for Dagster's own tools), the folder ``make dagster`` opens the
UI on: every run, whether started there or on the command line, shows up in the same history.

The folder's ``dagster.yaml`` is written once, when the folder is first used, and never overwritten: the
embedded default keeps the instance in SQLite files beside it and queues the runs the UI, a schedule or a
sensor start, one at a time (DuckDB takes one writer). Production replaces it with the PostgreSQL storage
of ``dagster.yaml.example``.

``python -m hub.instance`` prepares the folder for the configured hub and prints its path (the Makefile
sets ``DAGSTER_HOME`` from it). Dagster itself is imported only when an instance is opened.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from hub.config import Settings, load_settings

if TYPE_CHECKING:
    from dagster import DagsterInstance

CONFIG_FILE = "dagster.yaml"

EMBEDDED_CONFIG = """\
# Dagster's instance of this hub, written by the hub when the folder was first used (hub/instance.py).
# Storage: SQLite files in this folder (history/, storage/, schedules/). For PostgreSQL, replace this
# file with the repository's dagster.yaml.example; the hub never overwrites it.

# Runs started from the UI, a schedule or a sensor wait in a queue and run one at a time: an embedded
# DuckDB file takes one writer. Every run also holds the hub's run lock (hub/locking.py), so it never
# overlaps a `hub run` or a data-subject request either.
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1

# Steps' raw stdout and stderr are not copied into this folder: the event log (progress, failures with
# their tracebacks, check results, row counts) is what the UI shows. Copies of step output would sit
# outside an erasure's reach, and capturing them starts helper processes for every run.
compute_logs:
  module: dagster.core.storage.noop_compute_log_manager
  class: NoOpComputeLogManager

telemetry:
  enabled: false
"""


def instance_dir(settings: Settings) -> Path:
    """The instance folder of the hub ``settings`` describe (``DAGSTER_HOME`` for ``dagster dev``)."""
    return settings.state_dir / "dagster"


def prepare(settings: Settings) -> Path:
    """Make the instance folder and its ``dagster.yaml`` unless they exist; return the folder."""
    home = instance_dir(settings)
    home.mkdir(parents=True, exist_ok=True)
    config = home / CONFIG_FILE
    if not config.exists():
        draft = home / f".{CONFIG_FILE}.{os.getpid()}"
        draft.write_text(EMBEDDED_CONFIG)
        try:
            os.link(draft, config)  # fails if another process wrote it meanwhile: theirs stays
        except FileExistsError:
            pass
        finally:
            draft.unlink(missing_ok=True)
    return home


@contextmanager
def persistent_instance(settings: Settings) -> Iterator[DagsterInstance]:
    """The hub's persistent Dagster instance, open for the block."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(prepare(settings))) as instance:
        yield instance


def main() -> None:
    print(prepare(load_settings()))


if __name__ == "__main__":
    sys.exit(main())
