"""`hub api`: serve the HTTP API and manage its clients (administrators only)."""

import typer

from hub.commands.context import acting, console
from hub.config import load_settings

WORKER_HEALTHCHECK_SECONDS = 60

app = typer.Typer(help="The HTTP API: serve it, add and revoke its clients.", no_args_is_help=True)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    workers: int = typer.Option(
        1, min=1, help="Server processes on PostgreSQL (e.g. the number of cores); DuckDB is served by one."
    ),
) -> None:
    """Serve the API (OpenAPI docs at /docs).

    One process answers requests on threads, but Python runs one of them at a time: on PostgreSQL,
    ``--workers`` processes share the port and the machine's cores. An embedded DuckDB file opens in one
    process only, so there the server stays one process (requests still run concurrently in it).
    """
    import uvicorn

    from hub import storage
    from hub.api.app import create_app

    settings = load_settings()
    storage.migrate(settings.database_url)
    if workers > 1 and storage.is_duckdb(settings.database_url):
        console.print("[red]--workers: a DuckDB hub is served by one process (one process opens its file).[/red]")
        raise typer.Exit(2)
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", access_log=False)
        return
    # Each worker builds the app itself from the same environment (and hub.toml) as this process. Uvicorn
    # restarts a worker that does not answer its health ping in time (5 s by default), dropping the connections
    # it holds: a worker starting on a busy machine, or busy answering, may take longer than that.
    uvicorn.run(
        "hub.api.app:from_environment",
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )


@app.command("add-client")
def add_client(
    ctx: typer.Context, name: str, role: str = typer.Option(..., help="An access role of the policy.")
) -> None:
    """Register a client in a role and print its bearer token (shown only this once)."""
    from hub import api_clients, storage
    from hub.access.acting import authorised

    actor = acting(ctx, "manage_api_clients")
    settings = load_settings()
    storage.migrate(settings.database_url)
    with authorised(settings, actor, "manage_api_clients") as (connection, detail):
        token = api_clients.add(connection, name, role)
        detail.update(client=name, client_role=role, change="added")
    console.print(f"Client {name} ({role}) added. Its token, shown only now:")
    print(token)


@app.command("revoke-client")
def revoke_client(ctx: typer.Context, name: str) -> None:
    """Revoke a client's token."""
    from hub import api_clients
    from hub.access.acting import authorised

    actor = acting(ctx, "manage_api_clients")
    settings = load_settings()
    with authorised(settings, actor, "manage_api_clients") as (connection, detail):
        revoked = api_clients.revoke(connection, name)
        detail.update(client=name, change="revoked" if revoked else "no active client")
    console.print(f"Client {name} revoked." if revoked else f"[red]no active client {name}[/red]")
    raise typer.Exit(0 if revoked else 1)
