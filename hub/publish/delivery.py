"""Delivering one destination's plan with ``exports.publishing`` and marking every item as its tool answers.

Items become the tool's writes: per email platform member, the tag changes; per webshop account, the
whole ``hub_segments`` value; per file, the whole file. Each answer is marked at once (``Marker``), in
its own transaction: confirmed items change the sync state, the others stay pending for the next run.
A ``report`` callback sees the progress after each mark; if it raises, the run stops there as a crash
would, except that the writes already in flight are still marked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from exports.publishing import esp_tags, files, webshop_segments
from exports.publishing.plan import REMOVE, applied
from exports.publishing.targets import segment_lists
from exports.publishing.transport import FAILED as ANSWER_FAILED
from exports.publishing.transport import MISSING, REJECTED, SENT, Answer
from hub.config import Settings
from hub.publish import store


@dataclass(frozen=True)
class Progress:
    """How far one destination's delivery has come: items answered (settled or not) of those planned."""

    destination: str
    answered: int
    planned: int


Report = Callable[[Progress], None]


@dataclass(frozen=True)
class FileWrite:
    """A file to replace whole, and the audiences whose items it delivers."""

    key: str  # the audience of an ad list, 'snapshot' for the loyalty vendor
    folder: str
    name: str
    content: bytes = field(repr=False)
    sha256: str
    lines: int
    audiences: tuple[str, ...]


@dataclass
class Marker:
    """Marks a destination's answers, each group in one transaction, and counts them by status."""

    engine: sa.Engine
    run_id: str
    destination: str
    tool: str
    key: bytes
    planned: int
    report: Report | None = None
    counts: dict[str, int] = field(default_factory=dict)
    stopping: bool = False

    def __call__(self, rows: pd.DataFrame, file: FileWrite | None = None) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            store.mark(connection, self.run_id, self.destination, self.tool, rows, self.key, now)
            if file is not None and (rows.empty or rows["status"].isin(store.SETTLED).all()):
                store.record_file(
                    connection, self.destination, file.key, file.name, file.sha256, file.lines, self.run_id, now
                )
        for status, count in rows["status"].value_counts().items():
            self.counts[status] = self.counts.get(status, 0) + int(count)
        if self.report is not None and not self.stopping:
            try:
                self.report(Progress(self.destination, sum(self.counts.values()), self.planned))
            except BaseException:
                self.stopping = True  # the answers still in flight are marked, not reported
                raise


def item_status(operation: str, answer: Answer) -> tuple[str, str | None]:
    """An item's status and error from its tool's answer. A record the tool does not hold has reached the goal
    of a removal (``absent``); for an addition or a change it is a rejection, which no retry can fix."""
    if answer.status == SENT:
        return store.SENT, None
    if answer.status == MISSING:
        if operation == REMOVE:
            return store.ABSENT, answer.detail
        return store.REJECTED, f"{answer.detail}: the tool does not hold this record"
    if answer.status == REJECTED:
        return store.REJECTED, answer.detail
    return store.FAILED, answer.detail


def answered(items: pd.DataFrame, answers: list[tuple[str, Answer]]) -> pd.DataFrame:
    """``items`` of the answered targets with their status, attempts and error (every item of a target shares
    its target's answer: one write carries them all)."""
    by_target = dict(answers)
    chosen = items[items["target"].isin(by_target)].copy()
    outcomes = [item_status(op, by_target[t]) for op, t in zip(chosen["operation"], chosen["target"], strict=True)]
    chosen["status"] = [status for status, _ in outcomes]
    chosen["error"] = [error for _, error in outcomes]
    chosen["attempts"] = [by_target[t].attempts for t in chosen["target"]]
    return chosen


def deliver_tags(settings: Settings, items: pd.DataFrame, marker: Marker, in_flight: int) -> None:
    """Every member's tag changes in one request; a removal sets the tag inactive."""
    writes = [
        esp_tags.TagWrite(str(member), tuple(zip(group["audience"], group["operation"] != REMOVE, strict=True)))
        for member, group in items.groupby("target", sort=True)
    ]
    esp_tags.send_tags(
        settings.esp_url or "",
        settings.esp_key or "",
        settings.esp_list_id or "",
        writes,
        lambda answers: marker(answered(items, answers)),
        in_flight=in_flight,
    )


def deliver_segments(settings: Settings, items: pd.DataFrame, delivered: pd.DataFrame, marker: Marker) -> None:
    """Every touched account's whole ``hub_segments`` value: all the audiences it holds once the plan is applied."""
    touched = sorted(items["target"].unique())
    after = applied(delivered[delivered["target"].isin(touched)], items)
    held = segment_lists(after).to_dict()
    values = [(target, held.get(target, "")) for target in touched]
    webshop_segments.send_segments(
        settings.webshop_url or "",
        settings.webshop_key or "",
        settings.webshop_secret or "",
        values,
        lambda answers: marker(answered(items, answers)),
    )


def deliver_file(items: pd.DataFrame, write: FileWrite, marker: Marker) -> None:
    """Replace the file whole, then mark every item it carries with the outcome of the write."""
    answer = files.replace_whole(write.folder, write.name, write.content)
    carried = items[items["audience"].isin(write.audiences)]
    rows = answered(carried, [(t, answer) for t in carried["target"].unique()])
    if answer.status == ANSWER_FAILED and carried.empty:
        return  # a rewrite nobody's item waits for: the next run tries again, its digest still differs
    marker(rows, write)
