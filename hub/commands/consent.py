"""`hub consent`: Consent per customer and purpose, explained from its evidence."""

import typer

app = typer.Typer(help="Consent per customer and purpose, explained from its evidence.", no_args_is_help=True)
