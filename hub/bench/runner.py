"""The matching benchmark: simulate, run the hub's pipeline, run Splink on the same records, score both.

It runs once per simulator profile ('standard', 'hard'), each world in its own folder, so a matcher
is scored against worlds of different habits and cannot pass by having learned one of them. The
pipeline is the same Dagster graph as ``hub run``, executed in-process against a served simulation.
Ground truth (``truth.csv``) is read here, after the pipeline, and only for scoring.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from hub import golden_store as store
from hub import storage
from hub.bench.api_load import measure_api
from hub.bench.scoring import (
    blocking_recall,
    cluster_scores,
    false_merges,
    golden_name_scores,
    pairwise_scores,
    read_truth,
)
from hub.bench.stewards import steward_rounds
from hub.config import load_settings
from hub.review import queue_size
from hub.runner import run_pipeline
from hub.simulator import generate, running_simulator
from hub.simulator.profiles import Profile, resolve
from quality.masking import mask_text
from transforms.matching.blocking import blocking_keys, candidate_pairs, pairs_per_pass

MATCHING_STAGES = ("golden/match_pairs", "golden/customer_xref")
MEASURED_GROUPS = ("golden/", "consent/", "segments/", "publish/")  # the stages whose time and memory are shown
SPLINK_COLUMNS = [
    "unique_id",
    "source_system",
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "birth_month_day",
    "postal_code",
    "street",
    "city",
]


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    exact_clusters: float
    clusters: int
    seconds: float
    peak_rss_mb: float


def _settings(sim, workdir: Path):
    return load_settings(
        {**sim.hub_environment(), "HUB_HOME": str(workdir), "HUB_DATABASE_URL": f"duckdb:///{workdir / 'hub.duckdb'}"}
    )


def _score(predicted: pd.Series, truth: pd.Series, seconds: float, peak: float) -> Scores:
    pairwise, clusters = pairwise_scores(predicted, truth), cluster_scores(predicted, truth)
    return Scores(
        pairwise.precision,
        pairwise.recall,
        pairwise.f1,
        clusters.exact_clusters,
        clusters.predicted_clusters,
        seconds,
        peak,
    )


def _mistakes(records: pd.DataFrame, predicted: pd.Series, truth: pd.Series, count: int = 3) -> dict[str, list]:
    """A few false merges and missed merges, masked: enough to see the kind of mistake, not the person."""
    frame = records.set_index("unique_id")
    both = pd.DataFrame({"cluster": predicted.reindex(frame.index), "person": truth.reindex(frame.index)})

    def show(uid: str) -> str:
        r = frame.loc[uid]
        fields = [r["first_name"], r["last_name"], r["email"], r["birth_month_day"], r["postal_code"]]
        return f"{uid.split(':')[0]}: " + " ".join(mask_text(v) if v else "-" for v in fields)

    def examples(group: str, other: str) -> list[tuple[str, str]]:
        mixed = both[both.groupby(group)[other].transform("nunique") > 1]
        out = []
        for _, members in list(mixed.groupby(group))[:count]:
            first = members.iloc[0]
            differing = members[members[other] != first[other]]
            out.append((show(members.index[0]), show(differing.index[0])))
        return out

    return {"false_merges": examples("cluster", "person"), "missed_merges": examples("person", "cluster")}


def run_benchmark(
    persons: int,
    seed: int,
    workdir: Path,
    splink: bool = True,
    console: Console | None = None,
    profiles: Sequence[str | Profile] = ("standard", "hard"),
    api_seconds: float = 0.0,
    api_clients: int = 50,
    steward_decisions: Sequence[int] = (),
) -> dict:
    """Benchmark matching on one world per simulator profile, each in `workdir`/<profile name>.

    Prints each run's stages, blocking recall and example mistakes, then one table of the scores of
    every profile; writes each run's report and the summary as bench.json; returns the summary. With
    ``api_seconds``, each built hub's API is also loaded by ``api_clients`` clients for that long per
    endpoint (``hub.bench.api_load``). With ``steward_decisions`` (e.g. 0, 100, 500), the review queue is
    then answered from the truth up to each total and the pipeline run again (``hub.bench.stewards``).
    """
    console = console or Console()
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    runs = {}
    for profile in profiles:
        habits = resolve(profile)
        runs[habits.name] = _run_profile(
            persons, seed, workdir / habits.name, habits, splink, console, (api_seconds, api_clients), steward_decisions
        )
    summary = {"persons": persons, "seed": seed, "profiles": runs}
    (workdir / "bench.json").write_text(json.dumps(summary, indent=2, default=str))
    _print_scores(summary, console)
    return summary


def _run_profile(
    persons: int,
    seed: int,
    workdir: Path,
    profile: Profile,
    splink: bool,
    console: Console,
    api: tuple[float, int],
    steward_decisions: Sequence[int],
) -> dict:
    """Simulate a world of `profile`, run the pipeline and Splink on it, score both, and load its API for
    ``api`` = (seconds per endpoint, clients) when the seconds are not 0; then the steward rounds, if
    asked for; the run's report."""
    systems = workdir / "systems"
    started = time.perf_counter()
    console.rule(f"Simulating {persons:,} persons, profile {profile.name!r}")
    meta = generate(systems, persons=persons, seed=seed, today=date(2026, 11, 1), profile=profile)
    simulate_seconds = time.perf_counter() - started
    for leftover in ("hub.duckdb", "hub.duckdb.wal"):
        (workdir / leftover).unlink(missing_ok=True)
    console.rule("Running the hub pipeline (Dagster, in-process)")
    with running_simulator(systems) as sim:
        settings = _settings(sim, workdir)
        outcome = run_pipeline(settings, report=lambda line: console.print(f"  {line}", highlight=False))
    if not outcome.ok:
        raise RuntimeError(f"pipeline failed: {outcome.errors or outcome.failed_checks}")

    engine = storage.engine(settings.database_url)
    with engine.connect() as connection:
        records = store.load_records(connection)
        xref = store.load_xref(connection)
        _, match_settings = store.load_model(connection)
        golden_names = storage.read_frame(
            connection, f"SELECT customer_id, first_name, last_name FROM {storage.HUB_SCHEMA}.golden_customer"
        )
    truth = read_truth(systems)
    ids = records["unique_id"].to_numpy()
    keys = blocking_keys(records)
    passes = match_settings.blocking  # the blocking passes the run's model was fitted with
    recall_by_pass = {name: blocking_recall(p, ids, truth) for name, p in pairs_per_pass(keys, passes).items()}
    union_recall = blocking_recall(candidate_pairs(keys, passes), ids, truth)

    stages = {k: meta_ for k, meta_ in outcome.materializations.items() if k.startswith(MEASURED_GROUPS)}
    hub_seconds = sum(stages[s].get("seconds", 0.0) for s in MATCHING_STAGES)
    hub_peak = max(stages[s].get("peak_rss_mb", 0.0) for s in MATCHING_STAGES)
    results = {"hub": _score(xref.reindex(ids), truth, hub_seconds, hub_peak)}
    if splink:
        from hub.bench.splink_baseline import run_splink

        console.rule("Running Splink 5 on the same standardised records")
        result = run_splink(records[SPLINK_COLUMNS])
        predicted = result.clusters.set_index("unique_id")["cluster_id"]
        results["splink"] = _score(predicted.reindex(ids), truth, result.seconds, result.peak_rss_mb)

    report = {
        "profile": profile.name,
        "persons": persons,
        "seed": seed,
        "records": len(records),
        "simulate_seconds": round(simulate_seconds, 1),
        "landing_seconds": {k: round(v, 1) for k, v in outcome.step_seconds.items() if k.startswith("land_")},
        "stages": stages,
        "blocking_recall": union_recall,
        "blocking_recall_by_pass": recall_by_pass,
        "scores": {name: asdict(s) for name, s in results.items()},
        "mistakes": _mistakes(records, xref.reindex(ids), truth),
        "false_merges": asdict(false_merges(records.set_index("unique_id"), xref.reindex(ids), truth)),
        "review_queue": queue_size(engine),
        "review_held_back": queue_size(engine, held_back=True),
        "golden_names": asdict(
            golden_name_scores(golden_names.set_index("customer_id"), xref.reindex(ids), truth, systems)
        ),
        "counts": meta.counts,
    }
    if api[0] > 0:
        report["api"] = measure_api(settings, api[1], api[0], console)
    _print_details(report, console)
    (workdir / "bench.json").write_text(json.dumps(report, indent=2, default=str))
    console.print(f"Hub scores, profile {profile.name!r}: {report['scores']['hub']}", highlight=False)
    if steward_decisions:
        console.rule(f"Stewards answering the review queue from the truth, profile {profile.name!r}")
        with running_simulator(systems) as sim:
            rounds = steward_rounds(
                _settings(sim, workdir), truth, steward_decisions, lambda line: console.print(f"  {line}")
            )
        report["steward_rounds"] = [asdict(r) for r in rounds]
        _print_rounds(profile.name, report["steward_rounds"], console)
        (workdir / "bench.json").write_text(json.dumps(report, indent=2, default=str))
    return report


def _print_rounds(profile: str, rounds: list[dict], console: Console) -> None:
    """Decisions answered so far against the hub's scores after the run that learned from them."""
    table = Table(title=f"Learning from stewards, profile {profile!r}")
    for column in ("decisions", "accepted", "precision", "recall", "F1", "review queue"):
        table.add_column(column, justify="right")
    for r in rounds:
        table.add_row(
            f"{r['decisions']:,}",
            f"{r['accepted']:,}",
            f"{r['precision']:.4f}",
            f"{r['recall']:.4f}",
            f"{r['f1']:.4f}",
            f"{r['queue']:,}",
        )
    console.print(table)


def _cells(report: dict, matcher: str, scores: dict) -> dict[str, str]:
    """One matcher's scores on one profile's world, as the summary table shows them."""
    return {
        "records": f"{report['records']:,}",
        "precision": f"{scores['precision']:.4f}",
        "recall": f"{scores['recall']:.4f}",
        "F1": f"{scores['f1']:.4f}",
        "exact": f"{scores['exact_clusters']:.4f}",
        "clusters": f"{scores['clusters']:,}",
        "review queue": f"{report['review_queue']:,}" if matcher == "hub" else "-",
        "held back": f"{report['review_held_back']:,}" if matcher == "hub" else "-",
        "secs": f"{scores['seconds']:.1f}",
        "peak MB": f"{scores['peak_rss_mb']:,.0f}",
    }


def _print_scores(summary: dict, console: Console) -> None:
    """One table: a column per profile and matcher (the hub's, and Splink's when run), a row per score."""
    quality = Table(
        title=f"Matching quality by simulator profile, {summary['persons']:,} persons",
        caption=(
            "exact: share of people whose records form exactly one cluster; review queue: pairs waiting for a "
            "steward; held back: possible matches not asked, resting on one kind of evidence; secs and peak MB: "
            "matching only"
        ),
    )
    quality.add_column("")
    columns = []
    for name, report in summary["profiles"].items():
        for matcher, scores in report["scores"].items():
            quality.add_column(f"{name}\n{matcher}", justify="right")
            columns.append(_cells(report, matcher, scores))
    for label in columns[0] if columns else ():  # in the order ``_cells`` gives them
        quality.add_row(label, *(cells[label] for cells in columns))
    console.print(quality)


def _print_details(report: dict, console: Console) -> None:
    """A run's stages, blocking recall and example mistakes."""
    profile = report["profile"]
    stages = Table(title=f"Hub stages, profile {profile!r} (time, peak memory of the process during the stage)")
    for column in ("stage", "seconds", "peak MB", "detail"):
        stages.add_column(column)
    for step, seconds in report["landing_seconds"].items():
        stages.add_row(step, f"{seconds:.1f}", "", "")
    for key, meta in report["stages"].items():
        detail = ", ".join(f"{k}={v}" for k, v in meta.items() if k not in ("seconds", "peak_rss_mb"))
        stages.add_row(key, f"{meta.get('seconds', 0):.1f}", f"{meta.get('peak_rss_mb', 0):,.0f}", detail)
    console.print(stages)

    union = report["blocking_recall"]
    blocking = Table(title=f"Blocking recall, profile {profile!r}: {union:.4f} for the union of passes")
    blocking.add_column("pass")
    blocking.add_column("recall alone", justify="right")
    for name, recall in report["blocking_recall_by_pass"].items():
        blocking.add_row(name, f"{recall:.4f}")
    console.print(blocking)

    names = report["golden_names"]
    console.print(
        f"Golden names in the right fields, profile {profile!r}: {names['right_fields']:.4f} "
        f"({names['swapped']:,} of {names['customers']:,} golden customers have first and last name swapped)"
    )
    merges = report["false_merges"]
    told = ", ".join(f"{kind} {count:,}" for kind, count in merges["pairs_by_evidence"].items())
    console.print(
        f"False merges, profile {profile!r}, record pairs by what tells the two people apart: {told}; "
        f"precision if only those told apart by nothing were left: {merges['precision_bound']:.4f}"
    )
    for kind, pairs in report["mistakes"].items():
        console.print(f"[bold]{kind.replace('_', ' ')}[/bold], profile {profile!r} (masked):")
        for a, b in pairs:
            console.print(f"  {a}\n  {b}\n", highlight=False)
