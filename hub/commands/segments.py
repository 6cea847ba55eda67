"""`hub segments` and `hub audience`: the declarative segments, their sizes, the report, and why a customer is
in an audience or not."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from hub.commands.context import console, require
from hub.config import load_settings

app = typer.Typer(help="Customer segments: list them, show one, write the report.", no_args_is_help=True)
audience_app = typer.Typer(help="Audiences: who of a segment may be contacted, and why not.", no_args_is_help=True)


@app.command("list")
def list_segments(ctx: typer.Context) -> None:
    """Every segment file with its owner, purpose and members now."""
    from hub import storage
    from hub.segments.definitions import load_segments
    from hub.segments.store import current_members

    require(ctx, "mdm.segment_membership")
    segments = load_segments()
    with storage.engine(load_settings().database_url).connect() as connection:
        sizes = current_members(connection)["segment"].value_counts()
    table = Table(title="Segments (hub/settings/segments)", title_justify="left")
    for column in ("segment", "members", "purpose", "owner", "description"):
        table.add_column(column, justify="right" if column == "members" else "left")
    for segment in segments:
        members = f"{int(sizes.get(segment.name, 0)):,}"
        table.add_row(segment.name, members, segment.purpose, segment.owner, segment.description)
    console.print(table)


@app.command("show")
def show_segment(ctx: typer.Context, name: str) -> None:
    """A segment's rule in words and its size over the last runs."""
    from hub import storage
    from hub.segments.definitions import load_segments
    from hub.segments.store import size_history

    require(ctx, "mdm.segment_membership")
    segment = next((s for s in load_segments() if s.name == name), None)
    if segment is None:
        console.print(f"[red]no segment {name}[/red]")
        raise typer.Exit(1)
    console.print(f"[bold]{segment.name}[/bold]: {segment.description} (owner {segment.owner}, for {segment.purpose})")
    console.print(f"rule: {segment.rule.describe()}")
    with storage.engine(load_settings().database_url).connect() as connection:
        history = size_history(connection, name)
    table = Table(title="Members per run", title_justify="left")
    table.add_column("run")
    table.add_column("members", justify="right")
    for computed_at, members in history.itertuples(index=False):
        table.add_row(str(computed_at)[:19], f"{int(members):,}")
    console.print(table)


@app.command("report")
def report(
    ctx: typer.Context, out: Path = typer.Option(Path("segments-report"), "--out", help="Folder to write it in.")
) -> None:
    """A self-contained HTML report with charts: segment sizes, RFM grid, value quadrant, lifecycle flow,
    churn risk by segment, revenue by ABC class (aggregates only)."""
    import pandas as pd

    from hub import storage
    from hub.segments.report import write_report
    from hub.segments.store import current_members, load_metrics

    require(ctx, "mdm.customer_metrics", "mdm.segment_membership")
    with storage.engine(load_settings().database_url).connect() as connection:
        metrics = load_metrics(connection)
        previous = load_metrics(connection, previous=True)
        memberships = current_members(connection)
    if metrics.empty:
        console.print("[red]no metrics yet: run the pipeline first (`hub run`)[/red]")
        raise typer.Exit(1)
    as_of = pd.Timestamp(metrics["as_of"].iloc[0]).date()
    path = write_report(
        out, metrics, previous=None if previous.empty else previous, memberships=memberships, as_of=as_of
    )
    console.print(f"Report written to {path}")


@audience_app.command("explain")
def explain_audience(ctx: typer.Context, name: str, customer_id: str) -> None:
    """Why a customer is in an audience or not: the segment's rule condition by condition, then the
    audience's rules (flags, consent, recent purchases, holdout, frequency cap)."""
    from hub import storage
    from hub.golden_store import resolve
    from hub.segments.definitions import load_audiences, load_segments
    from hub.segments.store import decision, segment_frame
    from transforms.segments.rules import explain

    reader = require(ctx, "mdm.customer_metrics", "mdm.audience_decision")
    segments = load_segments()
    audience = next((a for a in load_audiences(segments).audiences if a.name == name), None)
    if audience is None:
        console.print(f"[red]no audience {name}[/red]")
        raise typer.Exit(1)
    segment = next(s for s in segments if s.name == audience.segment)
    with storage.engine(load_settings().database_url).connect() as connection:
        current = resolve(connection, customer_id)
        metrics = reader.read(connection, "mdm.customer_metrics", "customer_id = :c", c=current)
        if metrics.empty:
            console.print(f"[red]no customer {current} visible to this role for this purpose[/red]")
            raise typer.Exit(1)
        row = segment_frame(connection, metrics, metrics["as_of"].iloc[0]).iloc[0].to_dict()
        decided = decision(connection, name, current)
    console.print(f"[bold]{name}[/bold] (segment {segment.name}, for {audience.purpose}): customer {current}")
    for depth, text, holds in explain(segment.rule, row):
        mark = "[green]yes[/green]" if holds else "[red]no[/red] "
        console.print(f"  {'  ' * depth}{mark} {text}")
    if decided is None:
        console.print("  not in the segment, so not in the audience")
    elif decided.included:
        console.print("  [green]in the audience[/green]: every audience rule lets them in")
    else:
        console.print(f"  [red]out of the audience[/red]: {decided.reason}")
