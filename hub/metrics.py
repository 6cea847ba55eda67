"""Wall time and peak memory of a stage, for asset metadata and the benchmark."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from dagster import MaterializeResult

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass
class StageMeter:
    seconds: float = 0.0
    peak_rss_mb: float = 0.0

    def result(self, **metadata) -> MaterializeResult:
        """An asset's result with these figures beside its own metadata (the UI and the benchmark show them)."""
        return MaterializeResult(
            metadata={**metadata, "seconds": round(self.seconds, 2), "peak_rss_mb": round(self.peak_rss_mb, 1)}
        )


def _high_water_mb() -> float:
    if not _STATUS.exists():
        return 0.0
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_high_water() -> None:
    """Linux lets a process reset its own peak RSS, so each stage's peak is its own."""
    with suppress(OSError):
        _CLEAR_REFS.write_text("5")


@contextmanager
def measure() -> Iterator[StageMeter]:
    meter = StageMeter()
    _reset_high_water()
    started = time.perf_counter()
    try:
        yield meter
    finally:
        meter.seconds = time.perf_counter() - started
        meter.peak_rss_mb = _high_water_mb()
