"""`hub api`: serve the HTTP API and manage its clients."""

import typer
from rich.console import Console

from hub import api_clients, storage
from hub.access.policy import AccessDenied
from hub.config import load_settings

app = typer.Typer(help="The HTTP API: serve it, add and revoke its clients.", no_args_is_help=True)
console = Console()


@app.command("serve")
def serve(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000)) -> None:
    """Serve the API (OpenAPI docs at /docs)."""
    import uvicorn

    from hub.api import create_app

    settings = load_settings()
    storage.migrate(settings.database_url)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@app.command("add-client")
def add_client(name: str, role: str = typer.Option(..., help="An access role of the policy.")) -> None:
    """Register a client in a role and print its bearer token (shown only this once)."""
    settings = load_settings()
    storage.migrate(settings.database_url)
    try:
        with storage.engine(settings.database_url).begin() as connection:
            token = api_clients.add(connection, name, role)
    except AccessDenied as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    console.print(f"Client {name} ({role}) added. Its token, shown only now:")
    print(token)


@app.command("revoke-client")
def revoke_client(name: str) -> None:
    """Revoke a client's token."""
    settings = load_settings()
    with storage.engine(settings.database_url).begin() as connection:
        revoked = api_clients.revoke(connection, name)
    console.print(f"Client {name} revoked." if revoked else f"[red]no active client {name}[/red]")
    raise typer.Exit(0 if revoked else 1)
