"""`hub dsr`: Data-subject requests: access, portability, rectification, erasure, restriction, objection."""

import typer

app = typer.Typer(
    help="Data-subject requests: access, portability, rectification, erasure, restriction, objection.",
    no_args_is_help=True,
)
