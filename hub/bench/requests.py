"""Data-subject requests at scale: how long an access request and an erasure take on a built hub.

Issue 13 asks that at 400,000 persons an access request answers in under a second and an erasure completes
in the hub in under five, and that the command line starts fast. This stage picks customers at random
(seeded) from a built hub and carries out a request for each in-process, as ``hub dsr`` does after
parsing its arguments (register, verify, carry out: ``service.handle``), timing each; an erasure includes
its notices to the tools, which the caller's simulator answers. Then it times the command line itself in
a fresh process: ``hub --help``, and a whole ``hub dsr access`` for one more customer. Erasures change the
hub, so this stage runs last on a hub built for benchmarking. It prints and returns times only: the
customers are drawn inside and never shown.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from hub import storage
from hub.access.acting import Actor
from hub.bench.api_load import environment
from hub.config import Settings
from hub.gdpr import service

DPO = Actor("bench-dpo", "dpo")
VERIFIED = "benchmark: a drawn customer, no person behind the request"
GOALS = {"access": 1.0, "erasure": 5.0}  # seconds, issue 13


def _drawn(settings: Settings, count: int, seed: int) -> list[str]:
    """``count`` distinct golden customers drawn at random."""
    with storage.engine(settings.database_url).connect() as connection:
        ids = connection.execute(sa.text("SELECT customer_id FROM mdm.golden_customer ORDER BY customer_id"))
        customers = [row[0] for row in ids]
    return random.Random(seed).sample(customers, min(count, len(customers)))


def _timed(settings: Settings, kind: str, customer: str) -> float:
    started = time.perf_counter()
    outcome = service.handle(settings, DPO, kind, ("customer", customer), VERIFIED)
    seconds = time.perf_counter() - started
    if outcome.status != "completed":
        raise RuntimeError(f"a benchmark {kind} request ended {outcome.status}")
    return seconds


def _command_seconds(settings: Settings, *arguments: str) -> float:
    """Wall time of ``hub ARGUMENTS`` in a fresh process, as a person at a terminal waits for it."""
    hub = str(Path(sys.executable).with_name("hub"))
    started = time.perf_counter()
    subprocess.run([hub, *arguments], env=environment(settings), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure_requests(settings: Settings, samples: int = 5, seed: int = 13, console: Console | None = None) -> dict:
    """Time ``samples`` access requests and erasures (of other customers) in-process, then the command line;
    print and return the figures in seconds."""
    console = console or Console()
    console.rule(f"Data-subject requests: {samples} access requests, {samples} erasures")
    drawn = _drawn(settings, 2 * samples + 1, seed)
    times = {
        "access": [_timed(settings, "access", c) for c in drawn[:samples]],
        "erasure": [_timed(settings, "erasure", c) for c in drawn[samples : 2 * samples]],
    }
    storage.engine(settings.database_url).dispose()  # the command's process must be able to open an embedded file
    command = {
        "hub --help": _command_seconds(settings, "--help"),
        "hub dsr access": _command_seconds(
            settings, "dsr", "access", "--customer-id", drawn[-1], "--verification", VERIFIED, "--json"
        ),
    }
    figures = {
        "requests": {
            kind: {"samples": len(s), "median_s": statistics.median(s), "max_s": max(s), "goal_s": GOALS[kind]}
            for kind, s in times.items()
        },
        "command_line_s": command,
    }
    _print(figures, console)
    return figures


def _print(figures: dict, console: Console) -> None:
    table = Table(title="Data-subject requests, in the hub (register, verify, carry out; an erasure with its notices)")
    for column in ("request", "samples", "median s", "max s", "goal s"):
        table.add_column(column, justify="left" if column == "request" else "right")
    for kind, f in figures["requests"].items():
        table.add_row(kind, str(f["samples"]), f"{f['median_s']:.2f}", f"{f['max_s']:.2f}", f"{f['goal_s']:g}")
    console.print(table)
    for command, seconds in figures["command_line_s"].items():
        console.print(f"{command}: {seconds:.2f} s, a fresh process, wall clock")
