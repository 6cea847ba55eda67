"""Dagster definitions of the segments area: metrics, segment membership, audiences, and publishing them.

``segments/customer_metrics`` computes every customer's purchase metrics and model scores as of a day
(``as_of``, default today, so that history can be replayed); ``segments/segment_membership`` evaluates the
declarative segment files; ``segments/audiences`` decides who of each segment may be contacted;
``publish/deliveries`` sends the tools what changed. A replay (metrics of a past day) stops at the
metrics: segments, audiences and what the tools hold describe today, and their history stays that of live
runs. Blocking checks stand between the steps: the metrics must reconcile with the landed sales to the
cent, no segment may change size by more than a configurable share from the run before, and no audience
may hold someone it must not; a failed check publishes nothing.
"""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    Config,
    Definitions,
    MaterializeResult,
    asset,
    asset_check,
)

from hub import storage
from hub.asset_keys import PUBLISH_GROUP, SEGMENTS_GROUP, consent_key, golden_key, publish_key, segments_key
from hub.metrics import measure
from hub.publish.service import publish
from hub.resources import HubDatabase
from hub.segments import store
from hub.segments.definitions import load_audiences, load_segments
from hub.settings import read_settings
from transforms.segments.audiences import decide
from transforms.segments.config import SegmentConfig
from transforms.segments.metrics import customer_metrics as compute_metrics

MODELS_FILE = "segment_models.toml"


class MetricsConfig(Config):
    """``as_of``: the day the metrics describe (YYYY-MM-DD), today by default, to replay history."""

    as_of: str | None = None


class PublishConfig(Config):
    dry_run: bool = False
    force: bool = False


def _model_settings() -> dict:
    """The models' settings without the size check's (``size_check``), which the check reads itself."""
    return {k: v for k, v in read_settings(MODELS_FILE).items() if k != "size_check"}


def _size_check() -> tuple[float, int]:
    check = read_settings(MODELS_FILE).get("size_check", {})
    return float(check.get("max_change_share", 0.5)), int(check.get("min_change", 50))


def _as_of(config: MetricsConfig) -> date:
    return date.fromisoformat(config.as_of) if config.as_of else datetime.now(UTC).date()


def _metrics_day(connection) -> date:
    day = store.metrics_day(connection)
    return day if day is not None else datetime.now(UTC).date()


def _replayed(day: date) -> bool:
    return day < datetime.now(UTC).date()


REPLAY_NOTE = "the metrics are a replay of a past day: segments, audiences and the tools describe today"


@asset(
    key=segments_key("customer_metrics"),
    deps=[golden_key("golden_customer"), consent_key("consent_state")],
    group_name=SEGMENTS_GROUP,
    description="Per golden customer: purchases, RFM, lifecycle, ABC, value quadrant, churn, purchase model.",
)
def customer_metrics(config: MetricsConfig, database: HubDatabase) -> MaterializeResult:
    as_of = _as_of(config)
    with measure() as meter:
        models = SegmentConfig.from_mapping(_model_settings())
        with database.engine().connect() as connection:
            purchases = store.read_purchases(connection)
            contacts = store.read_contacts(connection)
            engagement = store.read_engagement(connection)
        metrics = compute_metrics(purchases, as_of, contacts=contacts, engagement=engagement, config=models)
        with database.engine().begin() as connection:
            store.save_metrics(connection, metrics, as_of, datetime.now(UTC))
    return meter.result(
        as_of=as_of.isoformat(),
        customers=len(metrics),
        buyers=int(metrics["orders_total"].gt(0).sum()),
        revenue_total_eur=round(float(metrics["revenue_total_eur"].sum()), 2),
        **{f"lifecycle_{k}": int(v) for k, v in metrics["lifecycle_stage"].value_counts().items()},
    )


@asset_check(
    asset=segments_key("customer_metrics"),
    name="revenue_reconciles",
    blocking=True,
    description="The customers' revenue adds up to their landed sales minus returns, to the cent.",
)
def revenue_reconciles(database: HubDatabase) -> AssetCheckResult:
    with database.engine().connect() as connection:
        attached, unattached = store.read_landed_sales_totals(connection)
        customers = round(store.metrics_revenue(connection), 2)
        as_of = store.metrics_day(connection)
    replayed = as_of is not None and as_of < datetime.now(UTC).date()
    # A replayed day leaves out later sales, so only today's metrics must add up to everything landed.
    return AssetCheckResult(
        passed=replayed or abs(customers - round(attached, 2)) < 0.005,
        metadata={
            "customers_eur": customers,
            "landed_sales_minus_returns_eur": round(attached, 2),
            "landed_of_no_known_customer_eur": round(unattached, 2),
            "replayed_as_of": replayed,
        },
    )


@asset(
    key=segments_key("segment_membership"),
    deps=[segments_key("customer_metrics")],
    group_name=SEGMENTS_GROUP,
    description="Members of every declarative segment (hub/settings/segments), with entry and exit history.",
)
def segment_membership(database: HubDatabase) -> MaterializeResult:
    with measure() as meter:
        segments = load_segments()
        with database.engine().connect() as connection:
            as_of = _metrics_day(connection)
            if _replayed(as_of):
                return meter.result(skipped=REPLAY_NOTE)
            frame = store.segment_frame(connection, store.load_metrics(connection), as_of)
        members = pd.concat(
            [pd.DataFrame({"segment": s.name, "customer_id": s.members(frame).to_numpy()}) for s in segments],
            ignore_index=True,
        )
        with database.engine().begin() as connection:
            store.save_membership(connection, members, [s.name for s in segments], datetime.now(UTC))
    return meter.result(**{f"members_{k}": int(v) for k, v in members["segment"].value_counts().items()})


@asset_check(
    asset=segments_key("segment_membership"),
    name="sizes_steady",
    blocking=True,
    description="No segment changed size by more than the configured share from the run before "
    "(hub/settings/segment_models.toml, [size_check]).",
)
def sizes_steady(database: HubDatabase) -> AssetCheckResult:
    share, least = _size_check()
    with database.engine().connect() as connection:
        sizes = store.size_changes(connection)
    known = sizes.dropna(subset=["before"])
    change = (known["members"] - known["before"]).abs()
    jumped = known.loc[(change > share * known["before"].clip(lower=1)) & (change >= least), "segment"].tolist()
    return AssetCheckResult(
        passed=not jumped,
        metadata={"segments_changed_too_much": ", ".join(jumped) or "none", "max_change_share": share},
    )


@asset(
    key=segments_key("audiences"),
    deps=[segments_key("segment_membership")],
    group_name=SEGMENTS_GROUP,
    description="Who of each segment may be contacted, and for everyone else the rule that keeps them out.",
)
def audiences(database: HubDatabase) -> MaterializeResult:
    with measure() as meter:
        settings = load_audiences(load_segments())
        cap = settings.frequency_cap
        window = max([a.exclude_recent_buyers.days for a in settings.audiences if a.exclude_recent_buyers] or [0])
        with database.engine().connect() as connection:
            as_of = _metrics_day(connection)
            if _replayed(as_of):
                return meter.result(skipped=REPLAY_NOTE)
            since = datetime.now(UTC) - timedelta(days=cap.days if cap else 0)
            members = store.current_members(connection)
            wanted = members.loc[members["segment"].isin({a.segment for a in settings.audiences}), "customer_id"]
            decisions = decide(
                settings,
                members,
                granted=store.read_granted(connection),
                flags=store.read_flags(connection),
                recent_categories=store.read_recent_categories(connection, settings.product_categories, as_of, window),
                sent_recently=store.read_sent_recently(connection, database.key(), since, pd.Index(wanted.unique())),
                current=store.current_audiences(connection),
            )
        with database.engine().begin() as connection:
            store.save_decisions(connection, decisions, datetime.now(UTC))
    included = decisions[decisions["included"]]
    return meter.result(
        **{f"included_{k}": int(v) for k, v in included["audience"].value_counts().items()},
        **{f"out_{k}": int(v) for k, v in decisions.loc[~decisions["included"], "reason"].value_counts().items()},
    )


@asset_check(
    asset=segments_key("audiences"),
    name="only_those_who_may_be_contacted",
    blocking=True,
    description="Nobody restricted, objecting or without consent for the audience's purpose is included.",
)
def only_those_who_may_be_contacted(database: HubDatabase) -> AssetCheckResult:
    settings = load_audiences(load_segments())
    purposes = {a.name: a.purpose for a in settings.audiences}
    with database.engine().connect() as connection:
        included = store.current_audiences(connection)
        granted = set(map(tuple, store.read_granted(connection)[["customer_id", "purpose"]].to_numpy()))
        flagged = set(store.read_flags(connection)["customer_id"])
    wrong = [(a, c) for a, c in included.itertuples(index=False) if c in flagged or (c, purposes.get(a)) not in granted]
    return AssetCheckResult(passed=not wrong, metadata={"wrongly_included": len(wrong)})


@asset(
    key=publish_key("deliveries"),
    deps=[segments_key("audiences")],
    group_name=PUBLISH_GROUP,
    required_resource_keys={"hub_settings"},
    description="What changed in the audiences since each tool last confirmed, sent exactly once.",
)
def deliveries(context: AssetExecutionContext, config: PublishConfig) -> MaterializeResult:
    settings = context.resources.hub_settings
    with measure() as meter:
        with storage.engine(settings.database_url).connect() as connection:
            if _replayed(_metrics_day(connection)):
                return meter.result(skipped=REPLAY_NOTE)
            included = store.current_audiences(connection)
        outcome = publish(settings, included, dry_run=config.dry_run, force=config.force)
        context.log.info(f"published: {outcome.summary()}")
    totals: dict[str, int] = {}
    for destination in outcome.destinations:
        for status, count in destination.outcomes.items():
            totals[status] = totals.get(status, 0) + count
    if not outcome.ok:
        raise RuntimeError(f"{totals.get('failed', 0)} deliveries were not confirmed; the next run sends them again")
    return meter.result(
        adds=sum(d.adds for d in outcome.destinations),
        changes=sum(d.changes for d in outcome.destinations),
        removals=sum(d.removals for d in outcome.destinations),
        **{f"items_{k}": v for k, v in totals.items()},
    )


def segments_definitions() -> Definitions:
    return Definitions(
        assets=[customer_metrics, segment_membership, audiences, deliveries],
        asset_checks=[revenue_reconciles, sizes_steady, only_those_who_may_be_contacted],
    )
