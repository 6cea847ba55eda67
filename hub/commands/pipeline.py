"""`hub run`, `hub status`, `hub quarantine`, `hub demo`, `hub bench`: the pipeline and what it landed.

Heavy modules (Dagster, dlt, pandas) are imported inside the commands, so that ``hub --help`` and the
commands that do not run the pipeline start quickly.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from hub.commands.context import acting, console, require
from hub.commands.simulation import simulate_into
from hub.config import Settings, load_settings

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


def _run_config(
    full_rebuild: bool, refit: bool, full_reload: bool, settings: Path | None = None, as_of: str | None = None
) -> dict | None:
    from hub.ingest import SYSTEMS

    ops = {}
    if as_of:
        ops["segments__customer_metrics"] = {"config": {"as_of": as_of}}
    if full_rebuild or refit or settings:
        matching = {"full_rebuild": full_rebuild, "refit": refit, "settings_file": str(settings) if settings else None}
        ops["golden__match_pairs"] = {"config": matching}
    if full_reload:
        ops.update({f"land_{system.name}": {"config": {"full_reload": True}} for system in SYSTEMS})
    return {"ops": ops} if ops else None


def run_and_report(settings: Settings, actor, run_config: dict | None = None, wait: float = 0.0) -> bool:
    """Run the pipeline once, print its progress and the landing status; the run goes to the audit log."""
    from hub import storage
    from hub.access.acting import authorised
    from hub.runner import run_pipeline

    settings.require(*SYSTEM_SETTINGS)
    console.print(f"Running the hub pipeline into {storage.describe(settings.database_url)}")
    outcome = run_pipeline(
        settings,
        report=lambda line: console.print(f"  {line}", highlight=False),
        run_config=run_config,
        wait=wait,
    )
    with authorised(settings, actor, "run_pipeline") as (_, detail):
        detail.update(ok=outcome.ok, failed_steps=len(outcome.failed_steps), failed_checks=len(outcome.failed_checks))
    print_status(settings)
    print_step_times(outcome)
    if outcome.ok:
        console.print("[bold green]Pipeline succeeded.[/bold green]")
    else:
        for error in outcome.errors:
            console.print(f"[red]failed step:[/red] {error}", highlight=False)
        for check in outcome.failed_checks:
            console.print(f"[red]failed check:[/red] {check}")
    return outcome.ok


def print_step_times(outcome) -> None:
    """Each step's duration in the order the steps finished, and the whole run's (a ``hub.runner.PipelineOutcome``)."""
    total = outcome.total_seconds
    table = Table(title=f"Step times (Dagster run {outcome.run_id[:8]}; `make dagster` shows it)", title_justify="left")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    steps = [(key, seconds, "") for key, seconds in outcome.step_seconds.items()]
    steps += [(key, seconds, " (failed)") for key, seconds in outcome.failed_step_seconds.items()]
    for key, seconds, note in steps:
        share = f"{seconds / total:.0%}" if total else ""
        table.add_row(f"{key}{note}", f"{seconds:,.1f}", share)
    table.add_section()
    table.add_row("total (wall clock)", f"{total:,.1f}", "100%" if total else "")
    console.print(table)


def run(
    ctx: typer.Context,
    full_rebuild: bool = typer.Option(False, help="Re-score every candidate pair, not only changed records."),
    refit: bool = typer.Option(False, help="Re-estimate the match model (implies a full rebuild)."),
    full_reload: bool = typer.Option(False, help="Empty the landing tables and cursors; read every system again."),
    wait: bool = typer.Option(False, help="Wait for a run or request that holds the hub instead of refusing."),
    settings: Path = typer.Option(
        None, "--settings", help="Fit a new match model with these matching settings (see hub/settings/matching.toml)."
    ),
    as_of: str = typer.Option(None, "--as-of", help="The day the segments describe (YYYY-MM-DD), to replay history."),
) -> None:
    """Materialise the whole pipeline against the configured systems; non-zero exit on failure."""
    actor = acting(ctx, "run_pipeline")
    if settings is not None:
        from hub.settings import read_settings
        from transforms.matching.settings import MatchSettings

        MatchSettings.from_mapping(read_settings(settings))  # refuse a bad file before anything runs
    if as_of and not _is_day(as_of):
        raise typer.BadParameter("a day as YYYY-MM-DD", param_hint="--as-of")
    run_config = _run_config(full_rebuild, refit, full_reload, settings.resolve() if settings else None, as_of)
    ok = run_and_report(load_settings(), actor, run_config, float("inf") if wait else 0.0)
    raise typer.Exit(0 if ok else 1)


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def print_status(settings: Settings) -> None:
    from hub import storage
    from hub.status import consent_summary, golden_summary, landing_status

    table = Table(title="Landing", show_lines=False)
    for column in ("system", "table", "rows", "last load", "read", "landed", "quarantined", "quarantined (all)"):
        table.add_column(column, justify="right" if column not in ("system", "table") else "left")
    engine = storage.engine(settings.database_url)
    for s in landing_status(engine):
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
    golden = golden_summary(engine)
    if golden is None:
        return
    systems = Table(title=f"Golden customers: {golden.customers:,} from {golden.source_records:,} source records")
    systems.add_column("found in")
    systems.add_column("customers", justify="right")
    for combination, count in list(golden.by_systems.items())[:12]:
        systems.add_row(combination.replace(",", " + "), f"{count:,}")
    console.print(systems)
    console.print(f"{golden.possible_matches:,} possible matches await review (`hub --role steward review`).")
    consent = consent_summary(engine)
    if consent:
        purposes = Table(title="Consent per purpose (`hub consent show ID` explains one customer)")
        purposes.add_column("purpose")
        purposes.add_column("granted", justify="right")
        purposes.add_column("decided by", justify="left")
        for purpose, (granted, by_basis) in consent.items():
            basis = ", ".join(f"{name} {count:,}" for name, count in by_basis.items())
            purposes.add_row(purpose, f"{granted:,} of {golden.customers:,}", basis)
        console.print(purposes)


def status() -> None:
    """What was loaded, when, how many rows, how many quarantined."""
    print_status(load_settings())


def quarantine(
    ctx: typer.Context,
    system: str = typer.Option(None, help="erp, webshop, loyalty or esp"),
    table: str = typer.Option(None, help="A landing table, e.g. loyalty_member"),
    limit: int = typer.Option(50),
) -> None:
    """List quarantined rows with the checks they failed; personal fields are masked."""
    from hub import storage
    from hub.status import quarantined_rows

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


def demo(
    ctx: typer.Context,
    persons: int = typer.Option(5_000, help="How many people to simulate."),
    seed: int = typer.Option(42),
    directory: Path = typer.Option(Path("demo"), "--dir", help="Working folder of the demo."),
    fault_rate: float = typer.Option(0.02, help="Share of API calls answered with 429 or 5xx."),
) -> None:
    """Simulate the four systems, serve them, run the whole pipeline and show the result."""
    from hub.simulator import running_simulator

    actor = acting(ctx, "run_pipeline")
    directory = directory.resolve()
    shutil.rmtree(directory, ignore_errors=True)
    console.rule("1. Simulating the four systems")
    simulate_into(directory / "systems", persons, seed, None)
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
        ok = run_and_report(load_settings(), actor)
    console.rule("3. A few quarantined rows (personal fields masked)")
    quarantine(ctx, system=None, table=None, limit=5)
    if ok:
        console.rule("4. An access request (Art. 15) for someone known to all four systems")
        _demo_access_request(load_settings())
    console.print(f"The hub's database is {directory / 'hub.duckdb'}; try `HUB_HOME={directory} hub status`.")
    console.print(f"The run in the Dagster UI, with its logs and checks: `HUB_HOME={directory} make dagster`.")
    raise typer.Exit(0 if ok else 1)


def _demo_access_request(settings: Settings) -> None:
    """Where the hub holds one person, as the DPO's report lists it (counts only, no values)."""
    import sqlalchemy as sa

    from hub import audit, storage
    from hub.access.acting import Actor
    from hub.gdpr import service

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
    chain, _ = audit.verify_anchored(settings)
    console.print(
        f"Audit chain intact: {chain.ok} ({chain.entries} entries). "
        f"The whole report: `hub dsr access --customer-id {customer} --json`."
    )


def bench(
    persons: int = typer.Option(10_000, help="How many people to simulate."),
    seed: int = typer.Option(1),
    directory: Path = typer.Option(Path("bench"), "--dir", help="Working folder of the benchmark."),
    splink: bool = typer.Option(True, help="Run Splink 5 on the same records (needs the `bench` extra)."),
    profile: list[str] = typer.Option(
        ["standard", "hard"], "--profile", help="Simulator profile to score on; repeat for several."
    ),
    api_seconds: float = typer.Option(0, help="Load each built hub's HTTP API for this long per endpoint (0: not)."),
    api_clients: int = typer.Option(50, help="Concurrent clients of the API load."),
    steward_decisions: str = typer.Option(
        "",
        help="Comma-separated totals, e.g. 0,100,500: answer the review queue's top pairs from the truth up to "
        "each total, run again and score (a table per profile).",
    ),
) -> None:
    """Score matching against the simulator's truth, side by side with Splink; time and memory per stage."""
    from hub.bench.runner import run_benchmark

    try:
        totals = [int(t) for t in steward_decisions.split(",") if t.strip()]
    except ValueError:
        raise typer.BadParameter("whole numbers separated by commas", param_hint="--steward-decisions") from None

    run_benchmark(
        persons,
        seed,
        directory,
        splink=splink,
        console=console,
        profiles=profile,
        api_seconds=api_seconds,
        api_clients=api_clients,
        steward_decisions=totals,
    )


def bench_scale(
    persons: int = typer.Option(400_000, help="How many people to simulate."),
    store: list[str] = typer.Option(["duckdb", "postgres"], "--store", help="duckdb or postgres; repeat for both."),
    days: int = typer.Option(
        5, help="Simulated days between the full and the incremental run (5 change about 1% of the records)."
    ),
    seed: int = typer.Option(1),
    directory: Path = typer.Option(Path("bench/scale"), "--dir", help="Working folder of the benchmark."),
    postgres_url: str = typer.Option(
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="Any database on the PostgreSQL server; the benchmark creates its own database there.",
    ),
    resume: bool = typer.Option(False, help="Go on from the folder's scale.json: runs it holds are not done again."),
    api_seconds: float = typer.Option(20.0, help="Seconds of API load per endpoint after the runs (0: none)."),
) -> None:
    """The whole pipeline at scale on each store: a full run, then an incremental one; seconds and MB per step;
    then data-subject requests and API lookups on the hub it built."""
    from hub.bench.scale import STORES, run_scale

    unknown = sorted(set(store) - set(STORES))
    if unknown:
        raise typer.BadParameter(f"unknown store {unknown[0]!r}; choose from {', '.join(STORES)}")
    run_scale(persons, directory, tuple(store), days, seed, postgres_url, console, resume, api_seconds)
