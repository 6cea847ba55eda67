"""The ``hub`` command line: the options every command shares, and where each command lives.

Commands live in ``hub/commands/``, one module per area; every one of them fails the same way
(``hub.commands.failures``): one clear line and an exit code, or the traceback with ``--debug``.
"""

from __future__ import annotations

import typer

from hub.commands import access, api, audit, consent, customer, dsr, pipeline, publish, review, segments, simulation
from hub.commands.context import Invocation
from hub.commands.failures import FailClearly

app = typer.Typer(help="Customer master data hub.", no_args_is_help=True, add_completion=False, cls=FailClearly)


@app.callback()
def hub(
    ctx: typer.Context,
    role: str = typer.Option(None, "--role", envvar="HUB_ROLE", help="Access role to act as (default pipeline)."),
    purpose: str = typer.Option(None, "--purpose", envvar="HUB_PURPOSE", help="Why you read (default: the role's)."),
    debug: bool = typer.Option(False, "--debug", help="Show the whole traceback when a command fails."),
) -> None:
    """Customer master data hub. Every read shows what ROLE may see for PURPOSE; every change is checked
    against what ROLE may do (hub/access/policy.toml)."""
    ctx.obj = Invocation(role, purpose, debug)


app.command()(pipeline.run)
app.command()(pipeline.status)
app.command()(pipeline.quarantine)
app.command()(pipeline.demo)
app.command()(pipeline.bench)
app.command(name="bench-scale")(pipeline.bench_scale)
app.command()(simulation.simulate)
app.command("serve-sim")(simulation.serve_sim)
app.add_typer(review.app, name="review")
app.add_typer(customer.app, name="customer")
app.add_typer(consent.app, name="consent")
app.add_typer(access.app, name="access")
app.add_typer(dsr.app, name="dsr")
app.add_typer(audit.app, name="audit")
app.add_typer(api.app, name="api")
app.add_typer(publish.app, name="publish")
app.add_typer(segments.app, name="segments")
app.add_typer(segments.audience_app, name="audience")
