"""The ``hub`` command line."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub import storage
from hub.commands import access as access_commands
from hub.commands import api as api_commands
from hub.commands import audit as audit_commands
from hub.commands import consent as consent_commands
from hub.commands import dsr as dsr_commands
from hub.commands.reading import require
from hub.config import ConfigurationError, Settings, load_settings
from hub.ingest import SYSTEMS
from hub.status import consent_summary, golden_summary, landing_status, quarantined_rows

app = typer.Typer(help="Customer master data hub.", no_args_is_help=True, add_completion=False)


@app.callback()
def acting_as(
    ctx: typer.Context,
    role: str = typer.Option(None, "--role", envvar="HUB_ROLE", help="Access role to read as (default pipeline)."),
    purpose: str = typer.Option(None, "--purpose", envvar="HUB_PURPOSE", help="Why you read (default: the role's)."),
) -> None:
    """Customer master data hub. Every read of personal data shows what ROLE may see for PURPOSE."""
    ctx.obj = (role, purpose)


app.add_typer(consent_commands.app, name="consent")
app.add_typer(access_commands.app, name="access")
app.add_typer(dsr_commands.app, name="dsr")
app.add_typer(audit_commands.app, name="audit")
app.add_typer(api_commands.app, name="api")
console = Console()

SYSTEM_SETTINGS = (
    "erp_url",
    "webshop_url",
    "webshop_key",
    "webshop_secret",
    "loyalty_dir",
    "esp_url",
    "esp_key",
    "esp_list_id",
)


def _generation_progress(progress: Progress):
    task = progress.add_task("simulating", total=None)

    def report(stage: str, done: int, total: int) -> None:
        progress.update(task, description=f"simulating: {stage}", completed=done, total=total)

    return report


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description:<30}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _simulate(out: Path, persons: int, seed: int, today: date | None):
    from hub.simulator import generate

    with _progress_bar() as progress:
        return generate(out, persons=persons, seed=seed, today=today, progress=_generation_progress(progress))


@app.command()
def simulate(
    persons: int = typer.Option(10_000, help="How many people live behind the four systems."),
    seed: int = typer.Option(42, help="Same seed (and --today), same data."),
    out: Path = typer.Option(Path("simulated"), help="Folder to write the systems into."),
    today: str = typer.Option(None, help="The simulated date (YYYY-MM-DD); default today."),
) -> None:
    """Generate the four operational systems and the ground truth."""
    meta = _simulate(out, persons, seed, date.fromisoformat(today) if today else None)
    console.print(f"[green]Simulated {persons:,} persons into {out}[/green] ({meta.counts})")


@app.command("serve-sim")
def serve_sim(
    directory: Path = typer.Option(Path("simulated"), "--dir", help="A folder made by `hub simulate`."),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8765),
    fault_rate: float = typer.Option(0.0, help="Share of calls answered with 429 or 5xx."),
) -> None:
    """Serve the simulated webshop and email platform over HTTP."""
    from hub.simulator import load_meta, serve

    meta = load_meta(directory)
    console.print(
        f"Webshop at http://{host}:{port} (key {meta.webshop_key[:6]}…), "
        f"email platform at http://{host}:{port}/3.0 (list {meta.esp_list_id})"
    )
    serve(directory, host=host, port=port, fault_rate=fault_rate)


def _run_config(full_rebuild: bool, refit: bool, full_reload: bool) -> dict | None:
    ops = {}
    if full_rebuild or refit:
        ops["golden__match_pairs"] = {"config": {"full_rebuild": full_rebuild, "refit": refit}}
    if full_reload:
        ops.update({f"land_{system.name}": {"config": {"full_reload": True}} for system in SYSTEMS})
    return {"ops": ops} if ops else None


def _run(settings: Settings, run_config: dict | None = None) -> bool:
    from hub.runner import run_pipeline

    settings.require(*SYSTEM_SETTINGS)
    console.print(f"Running the hub pipeline into {storage.describe(settings.database_url)}")
    outcome = run_pipeline(
        settings, report=lambda line: console.print(f"  {line}", highlight=False), run_config=run_config
    )
    _print_status(settings)
    if outcome.ok:
        console.print("[bold green]Pipeline succeeded.[/bold green]")
    else:
        for error in outcome.errors:
            console.print(f"[red]failed step:[/red] {error}", highlight=False)
        for check in outcome.failed_checks:
            console.print(f"[red]failed check:[/red] {check}")
    return outcome.ok


@app.command()
def run(
    full_rebuild: bool = typer.Option(False, help="Re-score every candidate pair, not only changed records."),
    refit: bool = typer.Option(False, help="Re-estimate the match model (implies a full rebuild)."),
    full_reload: bool = typer.Option(False, help="Empty the landing tables and cursors; read every system again."),
) -> None:
    """Materialise the whole pipeline against the configured systems; non-zero exit on failure."""
    try:
        ok = _run(load_settings(), _run_config(full_rebuild, refit, full_reload))
    except ConfigurationError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    raise typer.Exit(0 if ok else 1)


def _print_status(settings: Settings) -> None:
    table = Table(title="Landing", show_lines=False)
    for column in (
        "system",
        "table",
        "rows",
        "last load",
        "read",
        "landed",
        "quarantined",
        "quarantined (all)",
    ):
        table.add_column(column, justify="right" if column not in ("system", "table") else "left")
    for s in landing_status(storage.engine(settings.database_url)):
        table.add_row(
            s.system,
            s.table,
            f"{s.rows:,}",
            s.last_load_at.strftime("%Y-%m-%d %H:%M") if s.last_load_at else "never",
            f"{s.last_read:,}",
            f"{s.last_landed:,}",
            f"{s.last_quarantined:,}",
            f"{s.quarantined_total:,}",
        )
    console.print(table)
    golden = golden_summary(storage.engine(settings.database_url))
    if golden is None:
        return
    systems = Table(title=f"Golden customers: {golden.customers:,} from {golden.source_records:,} source records")
    systems.add_column("found in")
    systems.add_column("customers", justify="right")
    for combination, count in list(golden.by_systems.items())[:12]:
        systems.add_row(combination.replace(",", " + "), f"{count:,}")
    console.print(systems)
    console.print(f"{golden.possible_matches:,} possible matches await review (`hub review`).")
    consent = consent_summary(storage.engine(settings.database_url))
    if consent:
        purposes = Table(title="Consent per purpose (`hub consent show ID` explains one customer)")
        purposes.add_column("purpose")
        purposes.add_column("granted", justify="right")
        purposes.add_column("decided by", justify="left")
        for purpose, (granted, by_basis) in consent.items():
            basis = ", ".join(f"{name} {count:,}" for name, count in by_basis.items())
            purposes.add_row(purpose, f"{granted:,} of {golden.customers:,}", basis)
        console.print(purposes)


@app.command()
def status() -> None:
    """What was loaded, when, how many rows, how many quarantined."""
    _print_status(load_settings())


@app.command()
def quarantine(
    ctx: typer.Context,
    system: str = typer.Option(None, help="erp, webshop, loyalty or esp"),
    table: str = typer.Option(None, help="A landing table, e.g. loyalty_member"),
    limit: int = typer.Option(50),
) -> None:
    """List quarantined rows with the checks they failed; personal fields are masked."""
    require(ctx, "landing.quarantine")
    rows = quarantined_rows(storage.engine(load_settings().database_url), system, table, limit)
    listing = Table(title=f"Quarantine ({len(rows)} shown)")
    for column in ("system", "table", "load", "failed checks", "raw (masked)"):
        listing.add_column(column)
    for r in rows:
        checks = "; ".join(f"{c['column']}: {c['check']}" for c in r.checks)
        raw = ", ".join(f"{key}={value}" for key, value in r.masked.items())
        listing.add_row(r.system, r.table, r.load_id, checks, raw)
    console.print(listing)


@app.command()
def demo(
    ctx: typer.Context,
    persons: int = typer.Option(5_000, help="How many people to simulate."),
    seed: int = typer.Option(42),
    directory: Path = typer.Option(Path("demo"), "--dir", help="Working folder of the demo."),
    fault_rate: float = typer.Option(0.02, help="Share of API calls answered with 429 or 5xx."),
) -> None:
    """Simulate the four systems, serve them, run the whole pipeline and show the result."""
    from hub.simulator import running_simulator

    directory = directory.resolve()
    shutil.rmtree(directory, ignore_errors=True)
    console.rule("1. Simulating the four systems")
    _simulate(directory / "systems", persons, seed, None)
    console.rule("2. Serving the webshop and email platform, running the pipeline")
    with running_simulator(directory / "systems", fault_rate=fault_rate) as sim:
        os.environ.update(
            {
                **sim.hub_environment(),
                "HUB_HOME": str(directory),
                "HUB_DATABASE_URL": f"duckdb:///{directory / 'hub.duckdb'}",
                "HUB_OUTBOX_DIR": str(directory / "outbox"),
            }
        )
        ok = _run(load_settings())
    console.rule("3. A few quarantined rows (personal fields masked)")
    quarantine(ctx, system=None, table=None, limit=5)
    if ok:
        console.rule("4. An access request (Art. 15) for someone known to all four systems")
        _demo_access_request(load_settings())
    console.print(f"The hub's database is {directory / 'hub.duckdb'}; try `HUB_HOME={directory} hub status`.")
    raise typer.Exit(0 if ok else 1)


def _demo_access_request(settings: Settings) -> None:
    """Where the hub holds one person, as the DPO's report lists it (counts only, no values)."""
    from hub import audit
    from hub.gdpr import service
    from hub.gdpr.requests import Actor

    with storage.engine(settings.database_url).connect() as connection:
        customer = connection.execute(
            sa.text(
                f"SELECT customer_id FROM {storage.HUB_SCHEMA}.customer_xref GROUP BY customer_id "
                "HAVING count(DISTINCT source_system) = 4 ORDER BY customer_id LIMIT 1"
            )
        ).scalar()
    if customer is None:
        return
    dpo = Actor("demo", "dpo")
    request_id = service.submit(settings, dpo, "access", "customer", customer)
    service.verify(settings, dpo, request_id, "demo: the customer's ID")
    report = service.carry_out(settings, dpo, request_id).document
    table = Table(title=f"{request_id}: customer {customer}", title_justify="left")
    for column in ("table", "rows", "purpose"):
        table.add_column(column)
    for holding in report["holdings"]:
        table.add_row(holding["table"], str(len(holding["rows"])), holding["purpose"])
    console.print(table)
    with storage.engine(settings.database_url).connect() as connection:
        chain = audit.verify(connection)
    console.print(
        f"Audit chain intact: {chain.ok} ({chain.entries} entries). "
        f"The whole report: `hub dsr access --customer-id {customer} --json`."
    )


review_app = typer.Typer(help="Possible matches for a steward to decide.", no_args_is_help=False)
app.add_typer(review_app, name="review")


@review_app.callback(invoke_without_command=True)
def review_list(ctx: typer.Context, limit: int = typer.Option(20)) -> None:
    """List possible matches with the evidence for and against each."""
    if ctx.invoked_subcommand is not None:
        return
    from hub.review import SHOWN_FIELDS, review_queue

    reader = require(ctx, "mdm.source_record", "mdm.match_pair")
    items = review_queue(storage.engine(load_settings().database_url), limit)
    if not items:
        console.print("Nothing to review.")
    for item in items:
        table = Table(
            title=f"{item.left_id}  ~  {item.right_id}   p={item.probability:.3f}  "
            f"(customers {item.left_customer} / {item.right_customer})",
            title_justify="left",
        )
        table.add_column("field")
        table.add_column(item.left_id)
        table.add_column(item.right_id)
        sides = reader.mask("mdm.source_record", pd.DataFrame([item.left, item.right], columns=SHOWN_FIELDS))
        for field in SHOWN_FIELDS:
            table.add_row(field, *(str(side.get(field) or "") for side in sides.to_dict("records")))
        for evidence in item.evidence:
            table.add_row(f"[dim]{evidence.feature}[/dim]", f"[dim]{evidence.level}[/dim]", f"{evidence.weight:+.1f}")
        console.print(table)
    console.print("Decide with `hub review accept LEFT RIGHT` or `hub review reject LEFT RIGHT`.")


def _decide(left: str, right: str, accept: bool, steward: str, reason: str | None) -> None:
    from hub.review import decide

    try:
        decide(storage.engine(load_settings().database_url), left, right, accept, steward, reason)
    except LookupError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    verdict = "same person (must-link)" if accept else "different people (cannot-link)"
    console.print(f"Recorded: {left} and {right} are {verdict}. `hub run` applies it.")


@review_app.command("accept")
def review_accept(
    left: str,
    right: str,
    steward: str = typer.Option(os.environ.get("USER", "steward")),
    reason: str = typer.Option(None),
) -> None:
    """The two records are one person."""
    _decide(left, right, True, steward, reason)


@review_app.command("reject")
def review_reject(
    left: str,
    right: str,
    steward: str = typer.Option(os.environ.get("USER", "steward")),
    reason: str = typer.Option(None),
) -> None:
    """The two records are different people."""
    _decide(left, right, False, steward, reason)


customer_app = typer.Typer(help="Golden customers.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")


@customer_app.command("show")
def customer_show(ctx: typer.Context, customer_id: str) -> None:
    """A golden record with its sources, the lineage of every value, and its ID history."""
    from hub.customers import show

    view = show(storage.engine(load_settings().database_url), customer_id, require(ctx, "mdm.golden_customer"))
    if view.current_id != customer_id:
        console.print(f"{customer_id} was merged into [bold]{view.current_id}[/bold].")
    if view.golden is None:
        console.print(f"[red]no customer {view.current_id} visible to this role for this purpose[/red]")
        raise typer.Exit(1)
    golden = Table(title=f"Golden customer {view.current_id}", title_justify="left")
    for column in ("attribute", "value", "from", "record", "rule"):
        golden.add_column(column)
    lineage = view.lineage.set_index("attribute") if not view.lineage.empty else None
    for attribute in ("first_name", "last_name", "email", "phone", "birth_date", "street", "postal_code", "city"):
        source = lineage.loc[attribute] if lineage is not None and attribute in lineage.index else None
        golden.add_row(
            attribute,
            str(view.golden.get(attribute) or ""),
            "" if source is None else str(source.get("source_system", "")),
            "" if source is None else str(source.get("source_key", "")),
            "" if source is None else f"{source.get('rule', '')} (of {source.get('candidates', '')})",
        )
    console.print(golden)
    _print_frame(view.sources, f"Source records ({len(view.sources)})")
    _print_frame(view.history, "ID history")


def _print_frame(frame, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*("" if value is None else str(value) for value in row))
    console.print(table)


@customer_app.command("history")
def customer_history(ctx: typer.Context, customer_id: str) -> None:
    """What happened to an ID: created, merged into another, split from one."""
    require(ctx, "mdm.customer_id_history")
    from hub.customers import id_history
    from hub.golden_store import resolve

    with storage.engine(load_settings().database_url).connect() as connection:
        current = resolve(connection, customer_id)
        history = id_history(connection, customer_id)
    console.print(f"{customer_id} is now held by [bold]{current}[/bold].")
    _print_frame(history, "ID history")


@customer_app.command("unmerge")
def customer_unmerge(
    customer_id: str,
    record: str = typer.Option(..., help="e.g. erp:C0100234"),
    steward: str = typer.Option(os.environ.get("USER", "steward")),
    reason: str = typer.Option(None),
) -> None:
    """Split one source record off a customer; the next run gives it a customer ID of its own."""
    from hub.review import unmerge

    try:
        count = unmerge(storage.engine(load_settings().database_url), customer_id, record, steward, reason)
    except LookupError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    console.print(f"Recorded {count} cannot-link decision(s). `hub run` applies them.")


@app.command()
def bench(
    persons: int = typer.Option(10_000, help="How many people to simulate."),
    seed: int = typer.Option(1),
    directory: Path = typer.Option(Path("bench"), "--dir", help="Working folder of the benchmark."),
    splink: bool = typer.Option(True, help="Run Splink 5 on the same records (needs the `bench` extra)."),
) -> None:
    """Score matching against the simulator's truth, side by side with Splink; time and memory per stage."""
    from hub.bench.runner import run_benchmark

    run_benchmark(persons, seed, directory, splink=splink, console=console)
