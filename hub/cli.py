"""The ``hub`` command line."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub import storage
from hub.config import ConfigurationError, Settings, load_settings
from hub.status import landing_status, quarantined_rows

app = typer.Typer(help="Customer master data hub.", no_args_is_help=True, add_completion=False)
console = Console()

SYSTEM_SETTINGS = (
    "erp_url",
    "webshop_url",
    "webshop_key",
    "webshop_secret",
    "loyalty_dir",
    "esp_url",
    "esp_key",
    "esp_list_id",
)


def _generation_progress(progress: Progress):
    tasks: dict[str, int] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done, total=total)

    return report


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _simulate(out: Path, persons: int, seed: int, today: date | None):
    from hub.simulator import generate

    with _progress_bar() as progress:
        return generate(out, persons=persons, seed=seed, today=today, progress=_generation_progress(progress))


@app.command()
def simulate(
    persons: int = typer.Option(10_000, help="How many people live behind the four systems."),
    seed: int = typer.Option(42, help="Same seed (and --today), same data."),
    out: Path = typer.Option(Path("simulated"), help="Folder to write the systems into."),
    today: str = typer.Option(None, help="The simulated date (YYYY-MM-DD); default today."),
) -> None:
    """Generate the four operational systems and the ground truth."""
    meta = _simulate(out, persons, seed, date.fromisoformat(today) if today else None)
    console.print(f"[green]Simulated {persons:,} persons into {out}[/green] ({meta.counts})")


@app.command("serve-sim")
def serve_sim(
    directory: Path = typer.Option(Path("simulated"), "--dir", help="A folder made by `hub simulate`."),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8765),
    fault_rate: float = typer.Option(0.0, help="Share of GETs answered with 429 or 5xx."),
) -> None:
    """Serve the simulated webshop and email platform over HTTP."""
    from hub.simulator import load_meta, serve

    meta = load_meta(directory)
    console.print(
        f"Webshop at http://{host}:{port} (key {meta.webshop_key[:6]}…), "
        f"email platform at http://{host}:{port}/3.0 (list {meta.esp_list_id})"
    )
    serve(directory, host=host, port=port, fault_rate=fault_rate)


def _run(settings: Settings) -> bool:
    from hub.runner import run_pipeline

    settings.require(*SYSTEM_SETTINGS)
    console.print(f"Running the hub pipeline into {storage.describe(settings.database_url)}")
    outcome = run_pipeline(settings, report=lambda line: console.print(f"  {line}", highlight=False))
    _print_status(settings)
    if outcome.ok:
        console.print("[bold green]Pipeline succeeded.[/bold green]")
    else:
        for step in outcome.failed_steps:
            console.print(f"[red]failed step:[/red] {step}")
        for check in outcome.failed_checks:
            console.print(f"[red]failed check:[/red] {check}")
    return outcome.ok


@app.command()
def run() -> None:
    """Materialise the whole pipeline against the configured systems; non-zero exit on failure."""
    try:
        ok = _run(load_settings())
    except ConfigurationError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    raise typer.Exit(0 if ok else 1)


def _print_status(settings: Settings) -> None:
    table = Table(title="Landing", show_lines=False)
    for column in (
        "system",
        "table",
        "rows",
        "last load",
        "read",
        "landed",
        "quarantined",
        "quarantined (all)",
    ):
        table.add_column(column, justify="right" if column not in ("system", "table") else "left")
    for s in landing_status(storage.engine(settings.database_url)):
        table.add_row(
            s.system,
            s.table,
            f"{s.rows:,}",
            s.last_load_at.strftime("%Y-%m-%d %H:%M") if s.last_load_at else "never",
            f"{s.last_read:,}",
            f"{s.last_landed:,}",
            f"{s.last_quarantined:,}",
            f"{s.quarantined_total:,}",
        )
    console.print(table)


@app.command()
def status() -> None:
    """What was loaded, when, how many rows, how many quarantined."""
    _print_status(load_settings())


@app.command()
def quarantine(
    system: str = typer.Option(None, help="erp, webshop, loyalty or esp"),
    table: str = typer.Option(None, help="A landing table, e.g. loyalty_member"),
    limit: int = typer.Option(50),
) -> None:
    """List quarantined rows with the checks they failed; personal fields are masked."""
    rows = quarantined_rows(storage.engine(load_settings().database_url), system, table, limit)
    listing = Table(title=f"Quarantine ({len(rows)} shown)")
    for column in ("system", "table", "load", "failed checks", "raw (masked)"):
        listing.add_column(column)
    for r in rows:
        checks = "; ".join(f"{c['column']}: {c['check']}" for c in r.checks)
        listing.add_row(r.system, r.table, r.load_id, checks, str(r.masked))
    console.print(listing)


@app.command()
def demo(
    persons: int = typer.Option(5_000, help="How many people to simulate."),
    seed: int = typer.Option(42),
    directory: Path = typer.Option(Path("demo"), "--dir", help="Working folder of the demo."),
    fault_rate: float = typer.Option(0.02, help="Share of API calls answered with 429 or 5xx."),
) -> None:
    """Simulate the four systems, serve them, run the whole pipeline and show the result."""
    from hub.simulator import running_simulator

    directory = directory.resolve()
    shutil.rmtree(directory, ignore_errors=True)
    console.rule("1. Simulating the four systems")
    _simulate(directory / "systems", persons, seed, None)
    console.rule("2. Serving the webshop and email platform, running the pipeline")
    with running_simulator(directory / "systems", fault_rate=fault_rate) as sim:
        os.environ.update(
            {
                "HUB_HOME": str(directory),
                "HUB_DATABASE_URL": f"duckdb:///{directory / 'hub.duckdb'}",
                "HUB_ERP_URL": sim.erp_url,
                "HUB_WEBSHOP_URL": sim.webshop_url,
                "HUB_WEBSHOP_KEY": sim.webshop_key,
                "HUB_WEBSHOP_SECRET": sim.webshop_secret,
                "HUB_LOYALTY_DIR": sim.loyalty_dir,
                "HUB_ESP_URL": sim.esp_url,
                "HUB_ESP_KEY": sim.esp_key,
                "HUB_ESP_LIST_ID": sim.esp_list_id,
                "HUB_OUTBOX_DIR": str(directory / "outbox"),
            }
        )
        ok = _run(load_settings())
    console.rule("3. A few quarantined rows (personal fields masked)")
    quarantine(system=None, table=None, limit=5)
    console.print(f"The hub's database is {directory / 'hub.duckdb'}; try `HUB_HOME={directory} hub status`.")
    raise typer.Exit(0 if ok else 1)
