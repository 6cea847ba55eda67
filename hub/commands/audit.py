"""`hub audit`: The tamper-evident audit log."""

import typer

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
