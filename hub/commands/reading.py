"""The acting reader of a command: the role and purpose given to ``hub`` (``--role``, ``--purpose``)."""

import typer
from rich.console import Console

from hub.access.acting import Reader, reader
from hub.access.policy import AccessDenied

console = Console(stderr=True)


def require(ctx: typer.Context, *tables: str) -> Reader:
    """The acting reader, if its role may read every table the command shows; exit 2 otherwise."""
    role, purpose = ctx.obj or (None, None)
    try:
        acting = reader(role, purpose)
    except AccessDenied as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    refused = [t for t in tables if not acting.may_read(t)]
    if refused:
        console.print(f"[red]role {acting.role.name} may not read {', '.join(refused)} for {acting.purpose}[/red]")
        raise typer.Exit(2)
    return acting
