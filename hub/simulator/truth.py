"""truth.csv: which real person stands behind every identity record, for scoring matchers.

Never read by the hub's pipeline; benchmarks join it on (system, source_key).
"""

from __future__ import annotations

import csv
from pathlib import Path

TRUTH_FILE = "truth.csv"
HEADER = ("system", "source_key", "person_id")


def write(out_dir: Path, rows: list[tuple[str, str, str]]) -> None:
    with (out_dir / TRUTH_FILE).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)


def append(out_dir: Path, rows: list[tuple[str, str, str]]) -> None:
    with (out_dir / TRUTH_FILE).open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def owners(out_dir: Path) -> dict[str, dict[str, int]]:
    """For each system, the person (as population index) behind each record key."""
    out: dict[str, dict[str, int]] = {"erp": {}, "webshop": {}, "loyalty": {}, "esp": {}}
    with (out_dir / TRUTH_FILE).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for system, key, person in reader:
            out[system][key] = int(person[1:])
    return out
