"""`hub consent`: Consent per customer and purpose, explained from its evidence.

pandas and the database are imported inside the command, so that ``hub --help`` starts at once.
"""

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hub.commands.context import require
from hub.config import load_settings

app = typer.Typer(help="Consent per customer and purpose, explained from its evidence.", no_args_is_help=True)
console = Console()


def _text(value) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


EVENT_FIELDS = ["source_system", "source_key", "action", "occurred_at", "evidence"]


@app.command("show")
def show(ctx: typer.Context, customer_id: str) -> None:
    """Consent per purpose with the rule and event that decided it, then the customer's whole evidence trail.

    The acting role sees the evidence only if it may read consent events, and masked as the policy says.
    """
    import pandas as pd

    from hub import storage
    from hub.consent_view import explain

    reader = require(ctx, "mdm.consent_state")
    with storage.engine(load_settings().database_url).connect() as connection:
        explanation = explain(connection, customer_id)
        visible = reader.read(connection, "mdm.consent_state", "customer_id = :c", c=explanation.current_id)
    if explanation.current_id != customer_id:
        console.print(f"{customer_id} was merged into [bold]{explanation.current_id}[/bold].")
    evidence = reader.may_read("mdm.consent_event")
    states = explanation.states
    states = pd.concat(
        [
            states.drop(columns=EVENT_FIELDS),
            reader.mask("mdm.consent_event", states[EVENT_FIELDS]).reindex(columns=EVENT_FIELDS)
            if evidence
            else pd.DataFrame(None, index=states.index, columns=EVENT_FIELDS),
        ],
        axis=1,
    )
    events = reader.mask("mdm.consent_event", explanation.events) if evidence else explanation.events.iloc[0:0]
    if not explanation.found or visible.empty:
        console.print(
            f"[red]no consent state for {explanation.current_id}[/red] (is it a customer? has `hub run` run?)"
        )
        raise typer.Exit(1)

    listing = Table(title=f"Consent of {explanation.current_id}", title_justify="left")
    for column in ("purpose", "granted", "basis", "rule", "decided by", "evidence", "event"):
        listing.add_column(column)
    for row in states.itertuples(index=False):
        decided = (
            f"{row.source_system} {_text(row.source_key)}: {row.action} at {_text(row.occurred_at)}"
            if _text(row.source_system)
            else ""
        )
        listing.add_row(
            row.purpose,
            Text("yes", style="green") if row.granted else "no",
            *(Text(v) for v in (row.basis, row.rule, decided, _text(row.evidence), _text(row.event_id))),
        )
    console.print(listing)

    if not evidence:
        console.print(f"(role {reader.role.name} does not see the evidence behind consent)")
        return
    trail = Table(title=f"Evidence ({len(events)} events, oldest first)", title_justify="left")
    for column in ("time", "system", "record", "purpose", "action", "evidence", "ip", "event"):
        trail.add_column(column)
    for event in events.reindex(columns=explanation.events.columns).itertuples(index=False):
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
