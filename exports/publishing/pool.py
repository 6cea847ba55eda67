"""Many writes with bounded concurrency, their answers handed back on the caller's thread as they arrive.

The caller marks each confirmed item in its database as soon as it can, so that a run stopped half-way
resends only what no tool confirmed. Answers are handed over in groups (every ``group`` answers or
``group_seconds``), which keeps the marking cheap without leaving much unmarked at any moment.

At most ``workers`` writes are ever started and not finished: a worker waits for its answer, and for
its retries' backoff, before it takes the next write, so ``workers`` is the number of requests in
flight. When ``confirm`` raises (the database failed, or the caller wants the run stopped), no further
write starts; the writes already in flight are awaited and handed to ``confirm`` once more, so that
what a tool did is recorded if it still can be; then the error goes on. When the tool refuses the
credentials, the writes not yet started are answered ``failed`` without being sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from exports.publishing.transport import FAILED, Answer

Unit = TypeVar("Unit")
Key = TypeVar("Key")
Answered = list[tuple[Key, Answer]]
GROUP = 50
GROUP_SECONDS = 0.25


def deliver(
    units: Iterable[Unit],
    send: Callable[[Unit], Answered],
    confirm: Callable[[Answered], None],
    *,
    workers: int,
    keys: Callable[[Unit], list[Key]],
    group: int = GROUP,
    group_seconds: float = GROUP_SECONDS,
) -> None:
    """Send every unit with ``send`` on ``workers`` threads (``send`` answers per key of the unit, never raises
    for a tool's answer); hand the answers to ``confirm`` in groups. ``keys`` names a unit's keys, for the
    answers of units not sent after the tool refused the credentials."""
    pending = iter(units)
    running: dict[Future, Unit] = {}
    ready: Answered = []
    stopped = ""
    confirming = False
    last = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="publish") as pool:
        try:
            while True:
                while not stopped and len(running) < workers:
                    unit = next(pending, _END)
                    if unit is _END:
                        break
                    running[pool.submit(send, unit)] = unit
                if not running:
                    break
                done, _ = wait(running, timeout=group_seconds, return_when=FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
                    answers = future.result()
                    ready += answers
                    stopped = stopped or next((a.detail for _, a in answers if a.stops), "")
                if ready and (len(ready) >= group or time.monotonic() - last >= group_seconds):
                    confirming = True
                    confirm(ready)
                    confirming, ready, last = False, [], time.monotonic()
            if stopped:
                ready += [(key, Answer(FAILED, 0, f"not sent: {stopped}")) for unit in pending for key in keys(unit)]
            if ready:
                confirming = True
                confirm(ready)
        except BaseException:
            finished = [answer for f in running if f.exception() is None for answer in f.result()]
            left = finished if confirming else ready + finished
            if left:
                confirm(left)
            raise


_END = object()
