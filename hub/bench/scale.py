"""The production benchmark: the whole pipeline at scale, a full run and then an incremental one, per store.

One simulated world is generated; each store (DuckDB, PostgreSQL) gets its own copy of it and an empty
hub. The hub runs the whole Dagster graph (landing over the systems' interfaces, matching, golden records,
consent, segments, audiences, publishing) once from nothing, then the simulated clock moves on (moves,
new phones, consent flips, orders, newcomers: ``hub.simulator.evolve``) and the hub runs again, as a
nightly run would. Each step's wall time and peak memory are printed and kept with a chart, so the
figures in BENCHMARKS.md can be reproduced by one command.

Landing steps are dlt pipelines that stream pages to the database; their memory is not metered (their
peaks are far below the matching stage's, which sets the run's).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from hub.bench.api_load import measure_api
from hub.bench.requests import measure_requests
from hub.config import Settings, load_settings
from hub.runner import PipelineOutcome, run_pipeline
from hub.simulator import generate, running_simulator
from hub.simulator.evolve import advance

STORES = ("duckdb", "postgres")
LANDING_CHECKS = "landing__"  # the step keys of the landed tables' asset checks
API_CLIENTS = 50  # issue 13: a lookup under 50 ms at p99 with 50 clients on loopback
BENCH_DATABASE = "hub_bench"  # created afresh on the PostgreSQL server for every benchmark


@dataclass
class Step:
    name: str
    seconds: float
    peak_rss_mb: float | None  # None: not metered (landing)


@dataclass
class RunFigures:
    """One run of the whole graph: its steps in order, the wall clock, and what it found to do."""

    total_seconds: float
    steps: list[Step]
    records: int
    changed_records: int  # source records whose standardised content changed since they were last matched

    @property
    def peak_rss_mb(self) -> float:
        return max((s.peak_rss_mb or 0.0) for s in self.steps)


def run_figures(outcome: PipelineOutcome) -> RunFigures:
    """Step times as Dagster measured them, with each asset's own peak memory where it meters one."""
    peaks = {key.replace("/", "__"): meta.get("peak_rss_mb") for key, meta in outcome.materializations.items()}
    steps = [Step(name, round(seconds, 1), peaks.get(name)) for name, seconds in outcome.step_seconds.items()]
    checks = [s for s in steps if s.name.startswith(LANDING_CHECKS)]
    if checks:  # one line for the landed tables' checks (two per table), after the landing steps
        at = steps.index(checks[0])
        steps = [s for s in steps if s not in checks]
        steps.insert(at, Step(f"landing checks ({len(checks)})", round(sum(s.seconds for s in checks), 1), None))
    records = outcome.materializations.get("golden/source_records", {})
    changed = int(records.get("changed_since_matching", 0))
    return RunFigures(round(outcome.total_seconds, 1), steps, int(records.get("records", 0)), changed)


def fresh_postgres_url(server_url: str) -> str:
    """A new, empty database on the server of ``server_url`` (any database there), and its URL."""
    server = sa.make_url(server_url)
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"))
        connection.execute(sa.text(f"CREATE DATABASE {BENCH_DATABASE}"))
    admin.dispose()
    return server.set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def _database_url(store: str, folder: Path, postgres_url: str) -> str:
    if store == "duckdb":
        return f"duckdb:///{folder / 'hub.duckdb'}"
    return fresh_postgres_url(postgres_url)


@contextmanager
def _served(systems: Path, folder: Path, database_url: str) -> Iterator[Settings]:
    """The hub's settings while the simulator serves ``systems``."""
    with running_simulator(systems) as sim:
        yield load_settings({**sim.hub_environment(), "HUB_HOME": str(folder), "HUB_DATABASE_URL": database_url})


def _run(systems: Path, folder: Path, database_url: str, console: Console) -> RunFigures:
    with _served(systems, folder, database_url) as settings:
        outcome = run_pipeline(settings, report=lambda line: console.print(f"  {line}", highlight=False))
    if not outcome.ok:
        raise RuntimeError(f"pipeline failed: {outcome.errors or outcome.failed_checks}")
    return run_figures(outcome)


def _requests(systems: Path, folder: Path, database_url: str, console: Console, api_seconds: float) -> dict:
    """Requests on the hub as the incremental run left it: data-subject requests, then the API under load."""
    with _served(systems, folder, database_url) as settings:
        figures = measure_requests(settings, console=console)
        if api_seconds:
            figures["api"] = measure_api(settings, clients=API_CLIENTS, seconds=api_seconds, console=console)
    return figures


def run_scale(
    persons: int,
    workdir: Path,
    stores: tuple[str, ...] = STORES,
    days: int = 5,
    seed: int = 1,
    postgres_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    console: Console | None = None,
    resume: bool = False,
    api_seconds: float = 20.0,
) -> dict:
    """Full and incremental runs per store, then requests on the hub they built (``hub.bench.requests``, and
    with ``api_seconds`` the API under load); prints the tables, writes ``scale.json`` and ``scale.png``.

    ``scale.json`` is written after every stage; with ``resume`` the stages it holds are not done again (the
    world, the hubs and their databases are the folder's), so a long benchmark that stopped goes on.
    """
    console = console or Console()
    workdir = workdir.resolve()
    kept = workdir / "scale.json"
    summary = json.loads(kept.read_text()) if resume and kept.exists() else None
    if summary is None:
        console.rule(f"Simulating {persons:,} persons")
        started = time.perf_counter()
        generate(workdir / "world", persons=persons, seed=seed, today=date(2026, 11, 1), profile="standard")
        summary = {"persons": persons, "seed": seed, "days": days, "simulate_seconds": 0.0, "stores": {}}
        summary["simulate_seconds"] = round(time.perf_counter() - started, 1)
    for store in stores:
        runs = summary["stores"].setdefault(store, {})
        folder, systems = workdir / store, workdir / store / "systems"
        if "full" not in runs:
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(workdir / "world", systems)
            runs["database_url"] = _database_url(store, folder, postgres_url)
            console.rule(f"{store}: full run")
            runs["full"] = asdict(_run(systems, folder, runs["database_url"], console))
            kept.write_text(json.dumps(summary, indent=2))
        if "incremental" not in runs:
            console.rule(f"{store}: {summary['days']} simulated day(s) pass, then the incremental run")
            advance(systems, days=summary["days"])
            runs["incremental"] = asdict(_run(systems, folder, runs["database_url"], console))
            kept.write_text(json.dumps(summary, indent=2))
        if "requests" not in runs:
            runs["requests"] = _requests(systems, folder, runs["database_url"], console, api_seconds)
            kept.write_text(json.dumps(summary, indent=2))
        print_store(store, figures(runs["full"]), figures(runs["incremental"]), console)
    chart(summary, workdir / "scale.png")
    console.print(f"Figures in {kept}, chart in {workdir / 'scale.png'}")
    return summary


def figures(kept: dict) -> RunFigures:
    return RunFigures(**{**kept, "steps": [Step(**step) for step in kept["steps"]]})


def _mb(value: float | None) -> str:
    return f"{value:,.0f}" if value else ""


def print_store(store: str, full: RunFigures, incremental: RunFigures, console: Console) -> None:
    table = Table(title=f"{store}: seconds and peak MB per step")
    for column in ("step", "full s", "full MB", "incremental s", "incremental MB"):
        table.add_column(column, justify="left" if column == "step" else "right", overflow="fold")
    later = {s.name: s for s in incremental.steps}
    for step in full.steps:
        again = later.get(step.name)
        table.add_row(
            step.name,
            f"{step.seconds:,.1f}",
            _mb(step.peak_rss_mb),
            f"{again.seconds:,.1f}" if again else "",
            _mb(again.peak_rss_mb) if again else "",
        )
    table.add_row(
        "whole run (wall clock)",
        f"{full.total_seconds:,.1f}",
        _mb(full.peak_rss_mb),
        f"{incremental.total_seconds:,.1f}",
        _mb(incremental.peak_rss_mb),
        style="bold",
    )
    console.print(table)
    share = incremental.changed_records / incremental.records if incremental.records else 0.0
    console.print(
        f"{store}: {incremental.records:,} source records, {incremental.changed_records:,} changed ({share:.2%}); "
        f"incremental run {incremental.total_seconds / full.total_seconds:.1%} of the full run"
    )


def chart(summary: dict, path: Path) -> None:
    """Seconds per step, full and incremental, one panel per store (offline PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stores = summary["stores"]
    fig, axes = plt.subplots(1, len(stores), figsize=(7 * len(stores), 7), sharex=True, squeeze=False)
    for axis, (store, runs) in zip(axes[0], stores.items(), strict=True):
        names = [s["name"] for s in runs["full"]["steps"]]
        later = {s["name"]: s["seconds"] for s in runs["incremental"]["steps"]}
        rows = range(len(names))
        axis.barh([r - 0.2 for r in rows], [s["seconds"] for s in runs["full"]["steps"]], 0.4, label="full run")
        axis.barh([r + 0.2 for r in rows], [later.get(n, 0.0) for n in names], 0.4, label="incremental run")
        axis.set_yticks(list(rows), names, fontsize=8)
        axis.invert_yaxis()
        axis.set_xlabel("seconds")
        full, again = runs["full"]["total_seconds"], runs["incremental"]["total_seconds"]
        axis.set_title(f"{store}: full {full:,.0f} s, incremental {again:,.0f} s", fontsize=10)
        axis.legend(loc="best")
    fig.suptitle(f"hub run at {summary['persons']:,} simulated persons: seconds per step")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
