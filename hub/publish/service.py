"""``publish``: send the tools what changed in the audiences since each last confirmed, exactly once.

For every destination of the publishing configuration the hub works out what it wants the tool to hold
(the audiences' eligible customers, as the tool's keys), diffs it against what the tool last confirmed
(``mdm.publish_state``) in the destination's mode and guards (``exports.publishing.plan``), and then:

- with ``dry_run``, only reports the plan (counts and a few masked keys) and writes nothing;
- otherwise writes the plan to the database, delivers it, and marks each item as the tool answers.

Exactly once after a crash: the plan is in the database before anything is sent, and an item changes
the state only after its tool confirmed it. A run killed half-way leaves its unconfirmed items as
differences from the state, so the next run plans and sends exactly those (removals the killed run was
allowed to make keep that approval). Every write is idempotent (a tag set active or inactive, an
account's whole field value, a file replaced whole), so the rare write a tool took just before a hard
kill, and so never marked, is harmless when sent again. The caller holds the hub's lock (a pipeline
run does; ``hub publish`` takes it).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from exports.publishing import files, targets
from exports.publishing.config import Destination, PublishingConfig
from exports.publishing.plan import ADD, CHANGE, REMOVE, Plan, applied, file_held, plan_destination
from hub import storage
from hub.config import Settings
from hub.pseudonym import pseudonym_key
from hub.publish import delivery, store
from hub.publish.config import load_publishing
from hub.publish.delivery import FileWrite, Marker, Report
from hub.publish.people import Known, read_known
from quality.masking import mask_text

log = logging.getLogger(__name__)
SAMPLES = 3
_NEEDS = {"esp": ("esp_url", "esp_key", "esp_list_id"), "webshop": ("webshop_url", "webshop_key", "webshop_secret")}


@dataclass(frozen=True)
class DestinationReport:
    """One destination's plan and, after a real run, how its tool answered."""

    destination: str
    tool: str
    adds: int
    changes: int
    removals: int
    held: int  # changes a guard kept back (force applies them)
    baseline: bool  # a first sync or a lost state: only additions
    notes: tuple[str, ...]
    samples: dict[str, tuple[str, ...]]  # operation -> a few masked keys
    files: tuple[str, ...] = ()  # files to write (dry run) or written
    outcomes: dict[str, int] = field(default_factory=dict)  # status -> items (sent, absent, rejected, failed)

    @property
    def unconfirmed(self) -> int:
        return self.outcomes.get(store.FAILED, 0)


@dataclass(frozen=True)
class PublishOutcome:
    run_id: str | None  # None for a dry run
    dry_run: bool
    destinations: tuple[DestinationReport, ...]

    @property
    def ok(self) -> bool:
        """Whether every planned item reached its tool or was refused for good (nothing waits for a retry)."""
        return all(d.unconfirmed == 0 for d in self.destinations)

    def summary(self) -> dict[str, Any]:
        return {
            d.destination: {
                "tool": d.tool,
                "adds": d.adds,
                "changes": d.changes,
                "removals": d.removals,
                "held": d.held,
                "baseline": d.baseline,
                **d.outcomes,
            }
            for d in self.destinations
        }


@dataclass(frozen=True)
class _Planned:
    destination: Destination
    plan: Plan
    delivered: pd.DataFrame
    files: tuple[FileWrite, ...]


def publish(
    settings: Settings,
    audiences: pd.DataFrame,
    *,
    dry_run: bool = False,
    force: bool = False,
    report: Report | None = None,
    config: PublishingConfig | None = None,
    today: date | None = None,
) -> PublishOutcome:
    """Publish ``audiences`` (one row per ``audience``, ``customer_id``) to every configured destination.

    ``force`` lets a mirror run remove more than its guard allows (and replace a file by a much smaller
    one); ``report`` sees each destination's progress; ``config`` defaults to ``load_publishing()``,
    ``today`` (the loyalty snapshot's date) to the UTC date.
    """
    config = config or load_publishing()
    wanted = targets.checked_audiences(audiences)
    day = today or datetime.now(UTC).date()
    engine = storage.engine(settings.database_url)
    with engine.connect() as connection:
        planned = _plan_all(connection, settings, config, wanted, force, day)
    if dry_run:
        return PublishOutcome(None, True, tuple(_report(p) for p in planned))
    for p in planned:
        if not p.plan.to_send.empty:
            settings.require(*_NEEDS.get(p.destination.tool, ()))
    run_id = f"PUB-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    reports = {p.destination.name: _report(p) for p in planned}
    plans = [(p.destination.name, p.destination.tool, p.plan.items) for p in planned]
    with engine.begin() as connection:
        store.begin_run(connection, run_id, plans, force, _summary(reports), datetime.now(UTC))
    log.info("publishing run %s: %s", run_id, _summary(reports))
    key = pseudonym_key(settings)
    status = "failed"
    try:
        for p in planned:
            reports[p.destination.name] = _deliver(engine, settings, run_id, p, key, report, reports)
        status = "done"
    finally:
        with engine.begin() as connection:
            store.finish_run(connection, run_id, list(reports), status, _summary(reports), datetime.now(UTC))
    outcome = PublishOutcome(run_id, False, tuple(reports.values()))
    log.info("publishing run %s %s: %s", run_id, status, outcome.summary())
    return outcome


def _plan_all(
    connection: sa.Connection,
    settings: Settings,
    config: PublishingConfig,
    wanted: pd.DataFrame,
    force: bool,
    day: date,
) -> list[_Planned]:
    tools = {d.tool for d in config.destinations}
    known = read_known(
        connection,
        purposes={d.consent for d in config.destinations if d.consent},
        with_contacts="ads" in tools,
        with_tags="esp" in tools,
    )
    carried = store.unconfirmed(connection)
    confirmed = store.delivered(connection, [d.name for d in config.destinations])
    planned = []
    for destination in config.destinations:
        delivered = confirmed[destination.name]
        before = store.delivered_before(connection, destination.name)
        plan = _plan(destination, wanted, delivered, known, carried, before, force)
        writes: tuple[FileWrite, ...] = ()
        if destination.tool in ("loyalty", "ads"):
            last = store.last_files(connection, destination.name)
            plan, writes = _plan_files(settings, destination, plan, delivered, last, force, day)
        planned.append(_Planned(destination, plan, delivered, writes))
    return planned


def _plan(
    destination: Destination,
    wanted: pd.DataFrame,
    delivered: pd.DataFrame,
    known: Known,
    carried: pd.DataFrame,
    before: int | None,
    force: bool,
) -> Plan:
    eligible = known.eligible(destination.consent)
    keys = known.keys(destination.tool)
    if destination.tool == "ads":
        desired = targets.contacts(wanted, known.golden, destination.audiences, eligible)
    else:
        desired = targets.members(wanted, keys, destination.audiences, eligible)
    lost = bool(before) and delivered.empty  # the state was lost: re-baseline, never mass-delete
    if lost:
        log.warning("publishing %s: its sync state is gone; re-baselining (additions only)", destination.name)
    return plan_destination(
        desired,
        delivered,
        modes={a: destination.mode_of(a) for a in destination.audiences},
        default_mode=destination.mode,
        max_removal_share=destination.max_removal_share,
        withdrawn=targets.withdrawn(delivered["target"].unique(), keys, eligible),
        present=known.tags if destination.tool == "esp" else None,
        carried=carried[carried["destination"] == destination.name],
        baseline=before is None or lost,
        force=force,
    )


def _plan_files(
    settings: Settings,
    destination: Destination,
    plan: Plan,
    delivered: pd.DataFrame,
    last: dict[str, tuple[str, int]],
    force: bool,
    day: date,
) -> tuple[Plan, tuple[FileWrite, ...]]:
    """The files to replace: those whose content changed, unless a file guard holds them (then so are their
    items). A file changes without items when people left the hub (an erasure removes their state)."""
    after = applied(delivered, plan.items)
    if destination.tool == "loyalty":
        content, lines = files.segment_snapshot(targets.segment_lists(after).items())
        audiences = tuple(a.audience for a in plan.audiences)
        candidates = [("snapshot", settings.loyalty_inbox, files.snapshot_name(day), content, lines, audiences)]
    else:
        folder = _ads_folder(settings, destination)
        candidates = []
        for summary in plan.audiences:
            content, lines = files.customer_list(after.loc[after["audience"] == summary.audience, "payload"])
            name = files.customer_list_name(summary.audience)
            candidates.append((summary.audience, folder, name, content, lines, (summary.audience,)))
    sending = set(plan.to_send["audience"])
    writes = []
    for key, folder, name, content, lines, audiences in candidates:
        sha = files.digest(content)
        previous = last.get(key)
        if not sending.intersection(audiences) and (previous is None or previous[0] == sha):
            continue
        held = file_held(
            lines, previous[1] if previous else None, max_removal_share=destination.max_removal_share, force=force
        )
        if held:
            plan = plan.holding(audiences, held)
            continue
        writes.append(FileWrite(key, folder, name, content, sha, lines, audiences))
    return plan, tuple(writes)


def _ads_folder(settings: Settings, destination: Destination) -> str:
    folder = destination.folder
    if "://" in folder or folder.startswith("/"):
        return folder
    outbox = settings.outbox_dir or str(settings.home / "outbox")
    return f"{outbox.rstrip('/')}/{folder}"


def _deliver(
    engine: sa.Engine,
    settings: Settings,
    run_id: str,
    planned: _Planned,
    key: bytes,
    report: Report | None,
    reports: dict[str, DestinationReport],
) -> DestinationReport:
    destination = planned.destination
    items = planned.plan.to_send.reset_index(drop=True)
    marker = Marker(engine, run_id, destination.name, destination.tool, key, len(items), report)
    written: list[str] = []
    if destination.tool == "esp" and not items.empty:
        delivery.deliver_tags(settings, items, marker, destination.in_flight)
    elif destination.tool == "webshop" and not items.empty:
        delivery.deliver_segments(settings, items, planned.delivered, marker)
    for write in planned.files:
        delivery.deliver_file(items, write, marker)
        written.append(write.name)
    return replace(reports[destination.name], files=tuple(written), outcomes=dict(marker.counts))


def _report(planned: _Planned) -> DestinationReport:
    plan = planned.plan
    samples = {
        operation: tuple(mask_text(t) for t in plan.items.loc[plan.items["operation"] == operation, "target"][:SAMPLES])
        for operation in (ADD, CHANGE, REMOVE)
    }
    return DestinationReport(
        destination=planned.destination.name,
        tool=planned.destination.tool,
        adds=plan.count(ADD),
        changes=plan.count(CHANGE),
        removals=plan.count(REMOVE),
        held=plan.held,
        baseline=plan.baseline,
        notes=tuple(f"{a.audience}: {a.note}" for a in plan.audiences if a.note),
        samples={op: s for op, s in samples.items() if s},
        files=tuple(w.name for w in planned.files),
    )


def _summary(reports: dict[str, DestinationReport]) -> dict[str, Any]:
    return PublishOutcome(None, False, tuple(reports.values())).summary()
