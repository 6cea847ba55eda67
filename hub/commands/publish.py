"""`hub publish`: send the audiences' changes to the tools (or show the plan), and the sync log.

The audiences are those the last pipeline run decided (``mdm.audience_decision``); ``--audiences CSV``
(columns ``audience,customer_id``) publishes others instead. A real run takes the hub's lock, as a pipeline
run does; ``--dry-run`` only reads. ``hub run`` publishes as its last step.

pandas, the database and the publishing engine are imported inside the commands, so that ``hub --help``
starts at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from hub.commands.context import acting, console, require
from hub.config import ConfigurationError, load_settings

if TYPE_CHECKING:
    import pandas as pd

    from hub.publish.service import PublishOutcome

app = typer.Typer(
    help="Publish audiences to the tools (email platform tags, webshop field, loyalty snapshot, ad lists).",
    invoke_without_command=True,
)


@app.callback(invoke_without_command=True)
def run(
    ctx: typer.Context,
    audiences: Path = typer.Option(
        None, "--audiences", help="CSV (audience,customer_id) to publish instead of the pipeline's audiences."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan per destination; send nothing."),
    force: bool = typer.Option(False, "--force", help="Let mirror syncs remove more than their guard allows."),
    wait: bool = typer.Option(False, help="Wait for a run or request that holds the hub instead of refusing."),
) -> None:
    """Send each tool what changed since it last confirmed (diff sync); `--dry-run` shows the plan."""
    if ctx.invoked_subcommand is not None:
        return
    from hub import locking, storage
    from hub.publish.service import publish

    acting(ctx, "publish")
    settings = load_settings()
    storage.migrate(settings.database_url)
    frame = _read_audiences(audiences) if audiences else _decided_audiences(settings)
    if dry_run:
        outcome = publish(settings, frame, dry_run=True, force=force)
    else:
        with locking.exclusive(settings.database_url, "hub publish", wait=float("inf") if wait else 0.0):
            outcome = publish(settings, frame, force=force)
    _show(outcome)
    if not outcome.ok:
        raise typer.Exit(1)


@app.command("log")
def show_log(ctx: typer.Context, limit: int = typer.Option(50, help="How many of the newest lines.")) -> None:
    """What was sent to which tool, about whom (by pseudonym) and when, newest first."""
    import pandas as pd

    from hub import storage
    from hub.publish import store

    require(ctx, store.sync_log.fullname)
    settings = load_settings()
    storage.migrate(settings.database_url)
    with storage.engine(settings.database_url).connect() as connection:
        lines = store.recent_log(connection, limit)
    table = Table(title=f"Sync log ({len(lines)} newest)", title_justify="left")
    for column in lines.columns:
        table.add_column(column)
    lines["target_ref"] = lines["target_ref"].str[:16]  # a pseudonym's prefix is enough to follow it
    for row in lines.itertuples(index=False):
        table.add_row(*("" if value is None or value is pd.NaT else str(value) for value in row))
    console.print(table)


def _decided_audiences(settings) -> pd.DataFrame:
    from hub import storage
    from hub.segments.store import current_audiences

    with storage.engine(settings.database_url).connect() as connection:
        return current_audiences(connection)


def _read_audiences(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str)
    except (OSError, ValueError):
        raise ConfigurationError(f"--audiences: {path} is not a readable CSV file") from None
    if not {"audience", "customer_id"} <= set(frame.columns):
        raise ConfigurationError(f"--audiences: {path} needs the columns audience,customer_id")
    return frame


def _show(outcome: PublishOutcome) -> None:
    from hub.publish import store

    title = "Plan (dry run: nothing sent)" if outcome.dry_run else f"Publishing run {outcome.run_id}"
    table = Table(title=title, title_justify="left")
    columns = ["destination", "tool", "adds", "changes", "removals", "held", "samples", "files"]
    if not outcome.dry_run:
        columns += ["sent", "absent", "rejected", "failed"]
    for column in columns:
        table.add_column(column)
    for d in outcome.destinations:
        samples = "; ".join(f"{op}: {', '.join(keys)}" for op, keys in d.samples.items())
        cells = [d.destination, d.tool, *(str(n) for n in (d.adds, d.changes, d.removals, d.held))]
        cells += [samples, ", ".join(d.files)]
        if not outcome.dry_run:
            cells += [str(d.outcomes.get(s, 0)) for s in (store.SENT, store.ABSENT, store.REJECTED, store.FAILED)]
        table.add_row(*cells)
    console.print(table)
    for d in outcome.destinations:
        if d.baseline:
            console.print(f"{d.destination}: first sync or re-baseline, only additions")
        for note in d.notes:
            console.print(f"{d.destination}: {note}")
