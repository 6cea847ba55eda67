"""`hub consent`: Consent per customer and purpose, explained from its evidence."""

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hub import storage
from hub.config import load_settings
from hub.consent_view import explain

app = typer.Typer(help="Consent per customer and purpose, explained from its evidence.", no_args_is_help=True)
console = Console()


def _text(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


@app.command("show")
def show(customer_id: str) -> None:
    """Consent per purpose with the rule and event that decided it, then the customer's whole evidence trail."""
    with storage.engine(load_settings().database_url).connect() as connection:
        explanation = explain(connection, customer_id)
    if explanation.current_id != customer_id:
        console.print(f"{customer_id} was merged into [bold]{explanation.current_id}[/bold].")
    if not explanation.found:
        console.print(
            f"[red]no consent state for {explanation.current_id}[/red] (is it a customer? has `hub run` run?)"
        )
        raise typer.Exit(1)

    states = Table(title=f"Consent of {explanation.current_id}", title_justify="left")
    for column in ("purpose", "granted", "basis", "rule", "decided by", "evidence", "event"):
        states.add_column(column)
    for row in explanation.states.itertuples(index=False):
        decided = (
            f"{row.source_system} {row.source_key}: {row.action} at {_text(pd.to_datetime(row.occurred_at, utc=True))}"
            if _text(row.source_system)
            else ""
        )
        states.add_row(
            row.purpose,
            Text("yes", style="green") if row.granted else "no",
            *(Text(v) for v in (row.basis, row.rule, decided, _text(row.evidence), _text(row.event_id))),
        )
    console.print(states)

    trail = Table(title=f"Evidence ({len(explanation.events)} events, oldest first)", title_justify="left")
    for column in ("time", "system", "record", "purpose", "action", "evidence", "ip", "event"):
        trail.add_column(column)
    for event in explanation.events.itertuples(index=False):
        cells = (
            _text(event.occurred_at) or "(no time)",
            event.source_system,
            event.source_key,
            event.purpose,
            event.action,
            event.evidence,
            _text(event.ip),
            event.event_id,
        )
        trail.add_row(*(Text(_text(c)) for c in cells))
    console.print(trail)
