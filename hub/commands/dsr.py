"""`hub dsr`: data-subject requests: access, portability, rectification, erasure, restriction, objection.

The one-step commands (``hub dsr access --email E``) register the request, record the identity
check and carry it out at once; ``open``, ``verify``, ``run`` and ``extend`` take a request through
the same steps one at a time, as a DPO working a queue does. Requests are handled in the role given
to ``hub --role`` (or ``HUB_ROLE``), which defaults to dpo here: the person answering requests.

The request machinery (``hub.gdpr``, the database) is imported inside the commands, so that
``hub dsr --help`` starts at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from hub.commands.context import acting, console
from hub.config import load_settings

if TYPE_CHECKING:
    from hub.gdpr import service

app = typer.Typer(
    help="Data-subject requests: access, portability, rectification, erasure, restriction, objection.",
    no_args_is_help=True,
)
EMAIL = typer.Option(None, "--email", help="Find the person by email address.")
PHONE = typer.Option(None, "--phone", help="Find the person by phone number (any format).")
CUSTOMER = typer.Option(None, "--customer-id", help="Find the person by golden customer ID.")
RECORD = typer.Option(None, "--record", help="Find the person by a system's key, e.g. erp:C0100234.")
DRY_RUN = typer.Option(False, "--dry-run", help="Show what each tool would be asked to delete; send nothing.")
MAX_DELETES = typer.Option(
    None, "--max-deletes", help="Confirm an erasure that deletes more tool records than HUB_ERASURE_MAX_DELETES."
)
VERIFICATION = typer.Option(
    "identifier on file confirmed with the requester",
    "--verification",
    help="How the requester's identity was checked (kept in the trail).",
)


def _actor(ctx: typer.Context):
    """Who acts: the user, in the role given to ``hub --role`` (or HUB_ROLE), dpo by default for requests."""
    return acting(ctx, "handle_request", default_role="dpo")


def _waiting(message: str) -> None:
    console.print(f"[yellow]{message}[/yellow]")


def _identifier(email: str | None, phone: str | None, customer_id: str | None, record: str | None) -> tuple[str, str]:
    named = (("email", email), ("phone", phone), ("customer", customer_id), ("record", record))
    given = [(kind, value) for kind, value in named if value]
    if len(given) != 1:
        console.print("[red]Name the person by exactly one of --email, --phone, --customer-id, --record.[/red]")
        raise typer.Exit(2)
    return given[0]


def _changes(pairs: list[str]) -> dict[str, str]:
    changes = {}
    for pair in pairs:
        attribute, sep, value = pair.partition("=")
        if not sep:
            console.print("[red]--set takes ATTRIBUTE=VALUE[/red]")
            raise typer.Exit(2)
        changes[attribute.strip()] = value
    return changes


def _one_step(
    ctx: typer.Context,
    kind: str,
    identifier: tuple[str, str],
    verification: str,
    details: dict | None = None,
    **options,
):
    """Register, verify and carry out a request at once (``options`` reach ``service.carry_out``)."""
    from hub.gdpr import service

    actor = _actor(ctx)
    return service.handle(load_settings(), actor, kind, identifier, verification, details, notice=_waiting, **options)


def _print_outcome(outcome: service.Outcome) -> None:
    colour = "green" if outcome.status == "completed" else "yellow"
    console.print(f"[{colour}]{outcome.kind} request {outcome.request_id}: {outcome.status}[/{colour}]")
    for name, value in outcome.summary.items():
        console.print(f"  {name.replace('_', ' ')}: {value}")


def _write(document: dict, out: Path | None) -> None:
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str)
    if out is None:
        print(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"Written to {out}")


def _print_report(document: dict) -> None:
    console.rule(f"Access report {document['request_id']}")
    console.print(f"Controller: {document['controller']}")
    console.print(f"Customer IDs: {', '.join(document['customer_ids']) or 'none'}")
    console.print(f"Systems holding records: {', '.join(document['systems']) or 'none'}")
    for holding in document["holdings"]:
        table = Table(
            title=f"{holding['table']}: {holding['what']} ({len(holding['rows'])} rows)",
            caption=(
                f"purpose: {holding['purpose']}; basis: {holding['legal_basis']}; retention: {holding['retention']}; "
                f"source: {holding['source']}; recipients: {holding['recipients']}"
            ),
            title_justify="left",
            caption_justify="left",
        )
        table.add_column("field")
        table.add_column("value")
        for number, row in enumerate(holding["rows"], 1):
            table.add_row(f"[bold]row {number}[/bold]", "")
            for name, value in row.items():
                if value is not None:
                    table.add_row(name, str(value))
        console.print(table)
    if document["sent_to_tools"]:
        sent = Table(title="What the tools were told", title_justify="left")
        for column in document["sent_to_tools"][0]:
            sent.add_column(column)
        for row in document["sent_to_tools"]:
            sent.add_row(*(str(v) for v in row.values()))
        console.print(sent)
    console.print(document["rights"])


@app.command("access")
def access(
    ctx: typer.Context,
    email: str = EMAIL,
    phone: str = PHONE,
    customer_id: str = CUSTOMER,
    record: str = RECORD,
    as_json: bool = typer.Option(False, "--json", help="The report as JSON instead of tables."),
    out: Path = typer.Option(None, "--out", help="Write the JSON report to this file."),
    verification: str = VERIFICATION,
) -> None:
    """Art. 15: everything held about the person, with purposes, recipients, sources and retention."""
    outcome = _one_step(ctx, "access", _identifier(email, phone, customer_id, record), verification)
    if as_json or out:
        _write(outcome.document, out)
    else:
        _print_report(outcome.document)
        _print_outcome(outcome)


@app.command("portability")
def portability(
    ctx: typer.Context,
    email: str = EMAIL,
    phone: str = PHONE,
    customer_id: str = CUSTOMER,
    record: str = RECORD,
    out: Path = typer.Option(None, "--out", help="Write the JSON export to this file."),
    verification: str = VERIFICATION,
) -> None:
    """Art. 20: what the person provided to each system, as JSON."""
    outcome = _one_step(ctx, "portability", _identifier(email, phone, customer_id, record), verification)
    _write(outcome.document, out)


@app.command("rectify")
def rectify(
    ctx: typer.Context,
    email: str = EMAIL,
    phone: str = PHONE,
    customer_id: str = CUSTOMER,
    record: str = RECORD,
    changes: list[str] = typer.Option(..., "--set", help="ATTRIBUTE=VALUE, e.g. --set last_name=Virtanen."),
    verification: str = VERIFICATION,
) -> None:
    """Art. 16: the corrected values win over the systems until a system changes them; tools are told."""
    identifier = _identifier(email, phone, customer_id, record)
    _print_outcome(_one_step(ctx, "rectification", identifier, verification, _changes(changes)))


@app.command("erase")
def erase(
    ctx: typer.Context,
    email: str = EMAIL,
    phone: str = PHONE,
    customer_id: str = CUSTOMER,
    record: str = RECORD,
    yes: bool = typer.Option(False, "--yes", help="Confirm: this cannot be undone."),
    dry_run: bool = DRY_RUN,
    max_deletes: int = MAX_DELETES,
    verification: str = VERIFICATION,
) -> None:
    """Art. 17: the person leaves every table, stays out of later loads, and every tool is told to delete."""
    identifier = _identifier(email, phone, customer_id, record)
    if not yes and not dry_run:
        console.print("[red]Erasure cannot be undone: add --yes to confirm (or --dry-run to see the plan).[/red]")
        raise typer.Exit(2)
    if dry_run:
        _print_plan(_one_step(ctx, "erasure", identifier, verification, dry_run=True))
        return
    _print_outcome(_one_step(ctx, "erasure", identifier, verification, max_deletes=max_deletes))


def _print_plan(outcome: service.Outcome) -> None:
    """What an erasure would send, per tool; nothing was sent and the request waits to be run."""
    table = Table(title=f"Dry run of {outcome.request_id}: nothing sent", title_justify="left")
    for column in ("tool", "call", "records"):
        table.add_column(column)
    for call in outcome.document["calls"]:
        table.add_row(call["tool"], call["call"], str(call["records"]))
    console.print(table)
    if outcome.document["webshop_listing_problem"]:
        console.print(f"[yellow]webshop accounts wait: {outcome.document['webshop_listing_problem']}[/yellow]")
    console.print(f"The request is {outcome.status}: carry it out with `hub dsr run {outcome.request_id}`.")


def _flagging(kind: str, summary: str):
    """A one-step command for a request that flags the person (restriction, objection)."""

    def command(
        ctx: typer.Context,
        email: str = EMAIL,
        phone: str = PHONE,
        customer_id: str = CUSTOMER,
        record: str = RECORD,
        verification: str = VERIFICATION,
    ) -> None:
        _print_outcome(_one_step(ctx, kind, _identifier(email, phone, customer_id, record), verification))

    command.__doc__ = summary
    return command


app.command("restrict")(
    _flagging("restriction", "Art. 18: processing stops except storage; marketing and profiling stop.")
)
app.command("object")(_flagging("objection", "Art. 21: an absolute objection to direct marketing and profiling."))


@app.command("open")
def open_(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="access, portability, rectification, erasure, restriction or objection"),
    email: str = EMAIL,
    phone: str = PHONE,
    customer_id: str = CUSTOMER,
    record: str = RECORD,
    changes: list[str] = typer.Option([], "--set", help="For rectification: ATTRIBUTE=VALUE."),
) -> None:
    """Register a request as received; the one-month deadline starts today."""
    from hub.gdpr import service

    request_id = service.submit(
        load_settings(), _actor(ctx), kind, *_identifier(email, phone, customer_id, record), _changes(changes)
    )
    console.print(f"Received: {request_id}. Verify the requester's identity next (`hub dsr verify {request_id}`).")


@app.command("verify")
def verify(ctx: typer.Context, request_id: str, verification: str = VERIFICATION) -> None:
    """Record how the requester's identity was checked."""
    from hub.gdpr import service

    service.verify(load_settings(), _actor(ctx), request_id, verification)
    console.print(f"{request_id} verified. Carry it out with `hub dsr run {request_id}`.")


@app.command("run")
def run(
    ctx: typer.Context,
    request_id: str,
    out: Path = typer.Option(None, "--out", help="Where to write the report of an access or portability request."),
    dry_run: bool = DRY_RUN,
    max_deletes: int = MAX_DELETES,
) -> None:
    """Carry out a verified request (again, for an erasure some tool has not confirmed yet)."""
    from hub.gdpr import service

    outcome = service.carry_out(
        load_settings(), _actor(ctx), request_id, dry_run=dry_run, max_deletes=max_deletes, notice=_waiting
    )
    if dry_run:
        _print_plan(outcome)
        return
    if outcome.document is not None:
        _write(outcome.document, out)
    _print_outcome(outcome)


@app.command("extend")
def extend(
    ctx: typer.Context,
    request_id: str,
    months: int = typer.Option(..., help="1 or 2: at most two months in all (Art. 12(3))."),
    reason: str = typer.Option(..., help="Why, as the person will be told."),
) -> None:
    """Extend a request's deadline, with the reason."""
    from hub.gdpr import service

    deadline = service.extend(load_settings(), _actor(ctx), request_id, months, reason)
    console.print(f"{request_id} is now due on {deadline.isoformat()}.")


@app.command("list")
def list_(
    ctx: typer.Context, open_only: bool = typer.Option(False, "--open", help="Only requests still to be answered.")
) -> None:
    """Requests with their status and deadline; overdue ones in red."""
    from hub import storage
    from hub.gdpr import requests as dsr

    _actor(ctx)
    settings = load_settings()
    storage.migrate(settings.database_url)
    with storage.engine(settings.database_url).connect() as connection:
        frame = dsr.listing(connection, open_only)
    table = Table(title=f"Data-subject requests ({len(frame)})", title_justify="left")
    for column in ("request", "kind", "status", "identified by", "received", "due", "extended to"):
        table.add_column(column)
    for row in frame.itertuples(index=False):
        style = "red" if row.overdue else None
        table.add_row(
            row.request_id,
            row.kind,
            row.status,
            row.identifier_kind,
            str(row.received_at)[:10],
            str(row.due_on)[:10],
            "" if row.extended_to is None or str(row.extended_to) == "NaT" else str(row.extended_to)[:10],
            style=style,
        )
    console.print(table)


@app.command("show")
def show(ctx: typer.Context, request_id: str) -> None:
    """A request's trail: every step, who took it and when."""
    from hub import storage
    from hub.gdpr import requests as dsr

    _actor(ctx)
    settings = load_settings()
    with storage.engine(settings.database_url).connect() as connection:
        request = dsr.load(connection, request_id)
        steps = dsr.events(connection, request_id)
    console.print(
        f"{request.request_id}: {request.kind} ({dsr.KINDS[request.kind]}), {request.status}, "
        f"due {request.deadline.isoformat()}"
        + (f" (extended: {request.extension_reason})" if request.extension_reason else "")
    )
    table = Table(title="Trail", title_justify="left")
    for column in ("#", "when", "who", "step", "detail"):
        table.add_column(column)
    for row in steps.itertuples(index=False):
        table.add_row(str(row.seq), str(row.recorded_at)[:19], row.actor, row.step, row.detail or "")
    console.print(table)
