"""`hub customer`: one golden customer with its sources and lineage, its ID history, and unmerging."""

from __future__ import annotations

import typer
from rich.table import Table

from hub.commands.context import acting, console, require
from hub.config import load_settings

app = typer.Typer(help="Golden customers.", no_args_is_help=True)


@app.command("show")
def customer_show(ctx: typer.Context, customer_id: str) -> None:
    """A golden record with its sources, the lineage of every value, and its ID history."""
    from hub import storage
    from hub.customers import show
    from quality.contract import IDENTITY_KINDS

    view = show(storage.engine(load_settings().database_url), customer_id, require(ctx, "mdm.golden_customer"))
    if view.current_id != customer_id:
        console.print(f"{customer_id} was merged into [bold]{view.current_id}[/bold].")
    if view.golden is None:
        console.print(f"[red]no customer {view.current_id} visible to this role for this purpose[/red]")
        raise typer.Exit(1)
    golden = Table(title=f"Golden customer {view.current_id}", title_justify="left")
    for column in ("attribute", "value", "from", "record", "rule"):
        golden.add_column(column)
    lineage = view.lineage.set_index("attribute") if not view.lineage.empty else None
    for attribute in IDENTITY_KINDS:
        source = lineage.loc[attribute] if lineage is not None and attribute in lineage.index else None
        golden.add_row(
            attribute,
            str(view.golden.get(attribute) or ""),
            "" if source is None else str(source.get("source_system", "")),
            "" if source is None else str(source.get("source_key", "")),
            "" if source is None else f"{source.get('rule', '')} (of {source.get('candidates', '')})",
        )
    console.print(golden)
    _print_frame(view.sources, f"Source records ({len(view.sources)})")
    _print_frame(view.history, "ID history")


def _print_frame(frame, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)


@app.command("history")
def customer_history(ctx: typer.Context, customer_id: str) -> None:
    """What happened to an ID: created, merged into another, split from one."""
    from hub import storage
    from hub.customers import id_history
    from hub.golden_store import resolve

    require(ctx, "mdm.customer_id_history")
    with storage.engine(load_settings().database_url).connect() as connection:
        current = resolve(connection, customer_id)
        history = id_history(connection, customer_id)
    console.print(f"{customer_id} is now held by [bold]{current}[/bold].")
    _print_frame(history, "ID history")


@app.command("unmerge")
def customer_unmerge(
    ctx: typer.Context,
    customer_id: str,
    record: str = typer.Option(..., help="e.g. erp:C0100234"),
    reason: str = typer.Option(None),
) -> None:
    """Split one source record off a customer; the next run gives it a customer ID of its own."""
    from hub.access.acting import authorised
    from hub.pseudonym import reference
    from hub.review import unmerge

    actor = acting(ctx, "unmerge")
    settings = load_settings()
    subject = reference(settings, "customer", customer_id)
    with authorised(settings, actor, "unmerge", subject) as (connection, detail):
        detail["cannot_links"] = unmerge(connection, customer_id, record, actor.name, reason)
    console.print(f"Recorded {detail['cannot_links']} cannot-link decision(s). `hub run` applies them.")
