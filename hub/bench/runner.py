"""The matching benchmark: simulate, run the hub's pipeline, run Splink on the same records, score both.

The pipeline is the same Dagster graph as ``hub run``, executed in-process against a served
simulation. Ground truth (``truth.csv``) is read here, after the pipeline, and only for scoring.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from hub import golden_store as store
from hub import storage
from hub.bench.scoring import blocking_recall, cluster_scores, pairwise_scores, read_truth
from hub.config import load_settings
from hub.runner import run_pipeline
from hub.simulator import generate, running_simulator
from quality.masking import mask_text
from transforms.matching.blocking import blocking_keys, candidate_pairs, pairs_per_pass

MATCHING_STAGES = ("golden/match_pairs", "golden/customer_xref")
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


def run_benchmark(persons: int, seed: int, workdir: Path, splink: bool = True, console: Console | None = None) -> dict:
    console = console or Console()
    workdir = workdir.resolve()
    systems = workdir / "systems"
    started = time.perf_counter()
    console.rule(f"Simulating {persons:,} persons")
    meta = generate(systems, persons=persons, seed=seed, today=date(2026, 11, 1))
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
    truth = read_truth(systems)
    ids = records["unique_id"].to_numpy()
    keys = blocking_keys(records)
    recall_by_pass = {name: blocking_recall(p, ids, truth) for name, p in pairs_per_pass(keys).items()}
    union_recall = blocking_recall(candidate_pairs(keys), ids, truth)

    stages = {k: meta_ for k, meta_ in outcome.materializations.items() if k.startswith(("golden/", "consent/"))}
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
        "counts": meta.counts,
    }
    (workdir / "bench.json").write_text(json.dumps(report, indent=2, default=str))
    _print(report, console)
    return report


def _print(report: dict, console: Console) -> None:
    quality = Table(
        title=f"Matching quality, {report['persons']:,} persons / {report['records']:,} records",
        caption="exact: share of people whose records form exactly one cluster; secs and peak MB: matching only",
    )
    for column in ("matcher", "precision", "recall", "F1", "exact", "clusters", "secs", "peak MB"):
        quality.add_column(column, justify="right" if column != "matcher" else "left")
    for name, s in report["scores"].items():
        quality.add_row(
            name,
            f"{s['precision']:.4f}",
            f"{s['recall']:.4f}",
            f"{s['f1']:.4f}",
            f"{s['exact_clusters']:.4f}",
            f"{s['clusters']:,}",
            f"{s['seconds']:.1f}",
            f"{s['peak_rss_mb']:,.0f}",
        )
    console.print(quality)

    stages = Table(title="Hub stages (time, peak memory of the process during the stage)")
    for column in ("stage", "seconds", "peak MB", "detail"):
        stages.add_column(column)
    for step, seconds in report["landing_seconds"].items():
        stages.add_row(step, f"{seconds:.1f}", "", "")
    for key, meta in report["stages"].items():
        detail = ", ".join(f"{k}={v}" for k, v in meta.items() if k not in ("seconds", "peak_rss_mb"))
        stages.add_row(key, f"{meta.get('seconds', 0):.1f}", f"{meta.get('peak_rss_mb', 0):,.0f}", detail)
    console.print(stages)

    blocking = Table(title=f"Blocking recall: {report['blocking_recall']:.4f} for the union of passes")
    blocking.add_column("pass")
    blocking.add_column("recall alone", justify="right")
    for name, recall in report["blocking_recall_by_pass"].items():
        blocking.add_row(name, f"{recall:.4f}")
    console.print(blocking)

    for kind, pairs in report["mistakes"].items():
        console.print(f"[bold]{kind.replace('_', ' ')}[/bold] (masked):")
        for a, b in pairs:
            console.print(f"  {a}\n  {b}\n", highlight=False)
