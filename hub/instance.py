"""Dagster's own instance for the hub: where the history of every run, its logs and check results are kept.

``hub run``, ``hub demo`` and ``hub bench`` run the pipeline in this process on a persistent instance in
``$HUB_HOME/.hub/dagster`` (``DAGSTER_HOME`` for Dagster's own tools), the folder ``make dagster`` opens the
UI on: every run, whether started there or on the command line, shows up in the same history.

The folder's ``dagster.yaml`` is written when the folder is first used: the embedded default keeps the
instance in SQLite files beside it and queues the runs the UI, a schedule or a sensor start, one at a time
(DuckDB takes one writer). The hub rewrites only a file it wrote itself (its first line says so), e.g. when
the hub's home was copied elsewhere; production replaces it with the PostgreSQL storage of
``dagster.yaml.example``, which the hub then leaves alone.

Recording costs: Dagster writes every event of a run (about 200 for the pipeline) as a transaction of its
own. The embedded default keeps them in one SQLite file (not a file per run), and the hub's processes let
SQLite skip the disk flush after each commit (``synchronous=NORMAL``; in WAL mode that cannot corrupt the
file, at worst a power cut loses the last events). Together that makes recording about four times cheaper.

``python -m hub.instance`` prepares the folder for the configured hub and prints its path (the Makefile
sets ``DAGSTER_HOME`` from it). Dagster itself is imported only when an instance is opened.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from hub.config import Settings, load_settings

if TYPE_CHECKING:
    from dagster import DagsterInstance

CONFIG_FILE = "dagster.yaml"
WRITTEN_BY_THE_HUB = "# Dagster's instance of this hub, written by the hub (hub/instance.py)."

EMBEDDED_CONFIG = """\
{marker} The hub rewrites
# this file while this first line stands. Storage: SQLite files in this folder (history/, events/,
# schedules/). For PostgreSQL, replace the file with the repository's dagster.yaml.example.

# Every event of every run in one file, not one file per run: cheaper to write, one run at a time anyway.
event_log_storage:
  module: dagster.core.storage.event_log
  class: ConsolidatedSqliteEventLogStorage
  config:
    base_dir: {events}

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


def embedded_config(home: Path) -> str:
    """The hub's own ``dagster.yaml`` for the instance folder ``home`` (SQLite paths must be absolute)."""
    events = json.dumps(str(home.resolve() / "events"))  # a JSON string is a YAML string, whatever the path
    return EMBEDDED_CONFIG.format(marker=WRITTEN_BY_THE_HUB, events=events)


def prepare(settings: Settings) -> Path:
    """Make the instance folder and its ``dagster.yaml`` (unless a deployment wrote its own); return the folder."""
    home = instance_dir(settings)
    home.mkdir(parents=True, exist_ok=True)
    config = home / CONFIG_FILE
    wanted = embedded_config(home)
    try:
        current = config.read_text()
    except FileNotFoundError:
        current = None
    if current is None or (current.startswith(WRITTEN_BY_THE_HUB) and current != wanted):
        draft = home / f".{CONFIG_FILE}.{os.getpid()}"
        draft.write_text(wanted)
        os.replace(draft, config)
    return home


def flush_less() -> None:
    """Let SQLite skip the disk flush after each commit of Dagster's storage in this process (see above).

    The hub's own data is in DuckDB or PostgreSQL: the only SQLite files a hub process opens are Dagster's.
    """
    import sqlalchemy as sa

    if not sa.event.contains(sa.pool.Pool, "connect", _normal_synchronous):
        sa.event.listen(sa.pool.Pool, "connect", _normal_synchronous)


def _normal_synchronous(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


@contextmanager
def persistent_instance(settings: Settings) -> Iterator[DagsterInstance]:
    """The hub's persistent Dagster instance, open for the block."""
    from dagster import DagsterInstance

    flush_less()
    with DagsterInstance.from_config(str(prepare(settings))) as instance:
        yield instance


def main() -> None:
    print(prepare(load_settings()))


if __name__ == "__main__":
    sys.exit(main())
