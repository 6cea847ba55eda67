"""Simulated stewards for the benchmark: what matching gains from 0, 100, 500 ... review decisions.

After the benchmark's run, the top of the review queue (in the hub's own order) is answered from the
simulator's truth, as a steward who always knows would answer, and recorded through ``hub.review.decide``,
the service behind `hub review accept/reject`; then the same pipeline runs again and is scored. Truth
is read here, by the harness, never by the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from hub import golden_store as store
from hub import storage
from hub.bench.scoring import pairwise_scores
from hub.config import Settings
from hub.review import decide, queue_size, review_queue
from hub.runner import run_pipeline

STEWARD = "bench-steward"
MATCHING_STAGES = {"golden/match_pairs", "golden/customer_xref"}


@dataclass(frozen=True)
class Round:
    decisions: int  # decided so far, in total
    accepted: int
    precision: float
    recall: float
    f1: float
    queue: int  # pairs waiting for a steward after the run


def answer_from_truth(engine, truth: pd.Series, count: int) -> tuple[int, int]:
    """Decide the first ``count`` pairs of the review queue as the truth says: (decided, accepted)."""
    items = review_queue(engine, count)
    accepted = 0
    with engine.begin() as connection:
        for item in items:
            person = truth.get(item.left_id)
            same = person is not None and person == truth.get(item.right_id)
            decide(connection, item.left_id, item.right_id, same, STEWARD, "answered from the simulator's truth")
            accepted += same
    return len(items), accepted


def _measure(settings: Settings, truth: pd.Series, decisions: int, accepted: int) -> Round:
    engine = storage.engine(settings.database_url)
    with engine.connect() as connection:
        ids = store.load_records(connection, ["unique_id"])["unique_id"].to_numpy()
        xref = store.load_xref(connection)
    scores = pairwise_scores(xref.reindex(ids), truth)
    return Round(decisions, accepted, scores.precision, scores.recall, scores.f1, queue_size(engine))


def steward_rounds(
    settings: Settings, truth: pd.Series, totals: Sequence[int], report: Callable[[str], None]
) -> list[Round]:
    """Score the hub as it stands, then for each total in ``totals`` (ascending) answer the queue's next
    pairs up to that many decisions, run the pipeline again and score it."""
    engine = storage.engine(settings.database_url)
    done, accepted = 0, 0
    rounds = [_measure(settings, truth, 0, 0)] if 0 in totals else []
    for total in sorted(t for t in totals if t > 0):
        decided, yes = answer_from_truth(engine, truth, total - done)
        done, accepted = done + decided, accepted + yes
        report(f"{done} decisions recorded ({accepted} accepted); running the pipeline again")
        outcome = run_pipeline(settings, report=report)
        if not set(outcome.materializations) >= MATCHING_STAGES:
            raise RuntimeError(f"matching failed after {done} decisions: {outcome.errors or outcome.failed_steps}")
        if not outcome.ok:  # a later area's step or check: the clusters scored here were built all the same
            failed = outcome.failed_checks or outcome.failed_steps
            report(f"after {done} decisions the run failed outside matching: {failed}")
        rounds.append(_measure(settings, truth, done, accepted))
    return rounds
