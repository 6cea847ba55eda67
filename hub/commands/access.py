"""`hub access`: Roles, what each may read, and the database roles and views that enforce it."""

import typer

app = typer.Typer(
    help="Roles, what each may read, and the database roles and views that enforce it.",
    no_args_is_help=True,
)
