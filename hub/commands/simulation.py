"""`hub simulate` and `hub serve-sim`: the four operational systems, simulated, as files and over HTTP."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from hub.commands.context import console


def simulate_into(out: Path, persons: int, seed: int, today: date | None):
    """Generate the systems into ``out`` with a progress bar; returns the simulator's metadata."""
    from hub.simulator import generate

    with Progress(
        TextColumn("{task.description:<30}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("simulating", total=None)

        def report(stage: str, done: int, total: int) -> None:
            progress.update(task, description=f"simulating: {stage}", completed=done, total=total)

        return generate(out, persons=persons, seed=seed, today=today, progress=report)


def simulate(
    persons: int = typer.Option(10_000, help="How many people live behind the four systems."),
    seed: int = typer.Option(42, help="Same seed (and --today), same data."),
    out: Path = typer.Option(Path("simulated"), help="Folder to write the systems into."),
    today: str = typer.Option(None, help="The simulated date (YYYY-MM-DD); default today."),
) -> None:
    """Generate the four operational systems and the ground truth."""
    meta = simulate_into(out, persons, seed, date.fromisoformat(today) if today else None)
    console.print(f"[green]Simulated {persons:,} persons into {out}[/green] ({meta.counts})")


def serve_sim(
    directory: Path = typer.Option(Path("simulated"), "--dir", help="A folder made by `hub simulate`."),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8765),
    fault_rate: float = typer.Option(0.0, help="Share of calls answered with 429 or 5xx."),
    strict: bool = typer.Option(False, help="Serve only what the contract page names, as an independent server."),
) -> None:
    """Serve the simulated webshop and email platform over HTTP."""
    from hub.simulator import load_meta, serve

    meta = load_meta(directory)
    console.print(
        f"Webshop at http://{host}:{port} (key {meta.webshop_key[:6]}…), "
        f"email platform at http://{host}:{port}/3.0 (list {meta.esp_list_id})"
    )
    serve(directory, host=host, port=port, fault_rate=fault_rate, strict=strict)
