"""`hub audit`: the tamper-evident audit log (its machinery imported inside the commands: a fast ``--help``)."""

import typer
from rich.table import Table

from hub.commands.context import acting, console
from hub.config import load_settings

app = typer.Typer(help="The tamper-evident audit log (the DPO's by default: `hub --role` to act otherwise).")


@app.command("verify")
def verify_chain(ctx: typer.Context) -> None:
    """Recompute the hash chain and check it against the signed head kept outside the database; exit 1 and
    name the first entry that does not fit."""
    from hub import audit, storage

    acting(ctx, "verify_audit", default_role="dpo")
    settings = load_settings()
    storage.migrate(settings.database_url)
    result, anchored = audit.verify_anchored(settings)
    if not result.ok:
        console.print(f"[red]Audit chain broken at entry {result.broken_at}:[/red] {result.problem}")
        raise typer.Exit(1)
    audit.keep_anchored(settings)
    against = f", anchored at entry {anchored.seq}" if anchored else ", no anchor yet (now made)"
    console.print(f"[green]Audit chain intact:[/green] {result.entries:,} entries{against}; head {result.head}")


@app.command("show")
def show(ctx: typer.Context, limit: int = typer.Option(20, help="How many of the newest entries.")) -> None:
    """The newest entries: who did what, to whom (by pseudonym), and why."""
    from hub import audit, storage

    acting(ctx, "verify_audit", default_role="dpo")
    settings = load_settings()
    storage.migrate(settings.database_url)
    with storage.engine(settings.database_url).connect() as connection:
        entries = storage.read_frame(
            connection,
            f"SELECT seq, recorded_at, actor, role, action, subject_ref, purpose, detail FROM {audit.TABLE} "
            "ORDER BY seq DESC LIMIT :n",
            n=limit,
        )
    table = Table(title=f"Audit log ({len(entries)} newest)", title_justify="left")
    for column in entries.columns:
        table.add_column(column)
    entries["subject_ref"] = entries["subject_ref"].str[:16]  # a pseudonym's prefix is enough to follow it
    for row in entries.itertuples(index=False):
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)
