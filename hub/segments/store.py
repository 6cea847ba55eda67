"""Reading what the segment models need, and writing what they say, in the hub's database.

Purchases come from the landed tables as their descriptions say which rows are sales (``hub.landed``),
attached to golden customers through the crosswalk (a soft-deleted ERP customer's invoices included);
contacts and email engagement from the crosswalk, the consent state and the email platform's landing
tables. The metrics replace ``mdm.customer_metrics`` whole, the run before kept beside them.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import sqlalchemy as sa

from hub import schema as t
from hub.landed import order_lines_sql, purchases_sql
from hub.publish.store import target_ref
from hub.storage import (
    HUB_SCHEMA,
    LANDING_SCHEMA,
    constant,
    insert_frame,
    read_frame,
    table_exists,
    write_differences,
)
from transforms.consent import PURPOSES
from transforms.segments.greetings import birthdays_on
from transforms.segments.metrics import METRIC_COLUMNS

S = HUB_SCHEMA
MONEY = ("revenue_total_eur", "revenue_12m_eur", "returns_eur", "expected_revenue_12m_eur")


def read_purchases(connection: sa.Connection) -> pd.DataFrame:
    """Every purchase event of a golden customer: ``customer_id``, ``system``, ``at``, ``amount_eur``, ``kind``."""
    purchases = purchases_sql(connection)
    columns = ["customer_id", "system", "at", "amount_eur", "kind"]
    if purchases is None or not table_exists(connection, S, "customer_xref"):
        return pd.DataFrame(columns=columns)
    frame = read_frame(
        connection,
        f"SELECT x.customer_id, p.channel AS system, p.at, p.amount_eur, p.kind FROM ({purchases}) p "
        f"JOIN {S}.customer_xref x ON x.source_system = p.source_system AND x.source_key = p.source_key",
    )
    frame["amount_eur"] = frame["amount_eur"].astype(float)
    return frame[columns]


def read_landed_sales_totals(connection: sa.Connection) -> tuple[float, float]:
    """Sales minus returns of the landed purchase rows: of those attached to a golden customer (what the
    metrics' revenue must add up to), and of those of no known customer (a member whose own row was
    quarantined, say): revenue the segments cannot see."""
    purchases = purchases_sql(connection)
    if purchases is None:
        return 0.0, 0.0
    row = connection.execute(
        sa.text(
            "SELECT coalesce(sum(CASE WHEN x.customer_id IS NULL THEN 0 WHEN p.kind = 'sale' THEN p.amount_eur "
            "ELSE -p.amount_eur END), 0), coalesce(sum(CASE WHEN x.customer_id IS NOT NULL THEN 0 "
            "WHEN p.kind = 'sale' THEN p.amount_eur ELSE -p.amount_eur END), 0) "
            f"FROM ({purchases}) p LEFT JOIN {S}.customer_xref x "
            "ON x.source_system = p.source_system AND x.source_key = p.source_key"
        )
    ).first()
    return float(row[0]), float(row[1])


def read_contacts(connection: sa.Connection) -> pd.DataFrame:
    """Per golden customer: whether they are identified (an ERP customer, a webshop account or a loyalty
    member, not only a guest checkout or a newsletter address) and whether they consent to any marketing."""
    g, x, c = t.golden_customer, t.customer_xref, t.consent_state
    account = sa.or_(
        x.c.source_system.in_([constant("erp"), constant("loyalty")]),
        sa.and_(x.c.source_system == constant("webshop"), x.c.source_key.not_like(constant("order:%"))),
    )
    has_account = sa.exists().where(x.c.customer_id == g.c.customer_id, account)
    purposes = [constant(purpose) for purpose in PURPOSES]
    consents = sa.exists().where(c.c.customer_id == g.c.customer_id, c.c.granted, c.c.purpose.in_(purposes))
    return read_frame(
        connection,
        sa.select(g.c.customer_id, has_account.label("has_account"), consents.label("consents")),
    )


def read_engagement(connection: sa.Connection) -> pd.DataFrame:
    """Per golden customer with an email-platform member: their last open or click, bounces, and whether
    (and when) they unsubscribed; activity is keyed by address, so it reaches the member by its address."""
    columns = ["customer_id", "last_engaged_at", "bounces", "unsubscribed", "last_unsubscribed_at"]
    if not table_exists(connection, LANDING_SCHEMA, "esp_member"):
        return pd.DataFrame(columns=columns)
    activity = (
        f"LEFT JOIN (SELECT lower(email_address) AS address, "
        f"max(CASE WHEN action IN ('open', 'click') THEN \"timestamp\" END) AS last_engaged_at, "
        f"sum(CASE WHEN action = 'bounce' THEN 1 ELSE 0 END) AS bounces "
        f"FROM {LANDING_SCHEMA}.esp_email_activity GROUP BY lower(email_address)) a "
        f"ON a.address = lower(m.email_address)"
        if table_exists(connection, LANDING_SCHEMA, "esp_email_activity")
        else "LEFT JOIN (SELECT NULL AS address, NULL AS last_engaged_at, 0 AS bounces) a ON FALSE"
    )
    frame = read_frame(
        connection,
        f"SELECT x.customer_id, max(a.last_engaged_at) AS last_engaged_at, "
        f"CAST(coalesce(sum(a.bounces), 0) AS bigint) AS bounces, "  # PostgreSQL's sum of bigints is numeric
        f"bool_or(m.status = 'unsubscribed') AS unsubscribed, "
        f"max(CASE WHEN m.status = 'unsubscribed' THEN m.last_changed END) AS last_unsubscribed_at "
        f"FROM {LANDING_SCHEMA}.esp_member m JOIN {S}.customer_xref x "
        f"ON x.source_system = 'esp' AND x.source_key = m.id {activity} GROUP BY x.customer_id",
    )
    return frame[columns]


def save_metrics(connection: sa.Connection, metrics: pd.DataFrame, as_of: date, now: datetime) -> None:
    """Replace the metrics; the ones they replace become ``customer_metrics_previous``."""
    columns = [*METRIC_COLUMNS, "as_of", "computed_at"]
    connection.execute(sa.delete(t.customer_metrics_previous))
    connection.execute(
        sa.insert(t.customer_metrics_previous).from_select(
            columns, sa.select(*(t.customer_metrics.c[name] for name in columns))
        )
    )
    connection.execute(sa.delete(t.customer_metrics))
    frame = metrics.copy()
    for money in MONEY:
        frame[money] = frame[money].round(2)
    for score in ("r_score", "f_score", "m_score"):
        frame[score] = frame[score].astype("Int16")
    insert_frame(connection, "customer_metrics", frame.assign(as_of=as_of, computed_at=now))


def load_metrics(connection: sa.Connection, previous: bool = False) -> pd.DataFrame:
    """The metrics, amounts as floats on both stores: DuckDB hands its decimals over as doubles, and PostgreSQL's
    COPY reads doubles but not numerics (which would send every metric of every customer row by row)."""
    table = t.customer_metrics_previous if previous else t.customer_metrics
    columns = [sa.cast(c, sa.Double).label(c.name) if c.name in MONEY else c for c in table.columns]
    return read_frame(connection, sa.select(*columns).order_by(table.c.customer_id))


def metrics_day(connection: sa.Connection) -> date | None:
    """The day the metrics describe (one for all of them), or None before the first metrics."""
    day = connection.execute(sa.select(sa.func.max(t.customer_metrics.c.as_of))).scalar()
    return pd.Timestamp(day).date() if day is not None else None


def metrics_revenue(connection: sa.Connection) -> float:
    """The customers' revenue in all, as the metrics hold it (sales minus returns)."""
    return float(connection.execute(sa.select(sa.func.sum(t.customer_metrics.c.revenue_total_eur))).scalar() or 0)


def segment_frame(connection: sa.Connection, metrics: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """What segment rules read (``transforms.segments.rules.FIELDS``): the metrics, days since the first and
    last purchase, whether today is the birthday, and the postal code and city of the golden record."""
    g = t.golden_customer
    profile = read_frame(connection, sa.select(g.c.customer_id, g.c.birth_date, g.c.postal_code, g.c.city))
    frame = metrics.merge(profile, on="customer_id", how="left")
    day = pd.Timestamp(as_of)
    for moment in ("first", "last"):
        at = pd.to_datetime(frame[f"{moment}_purchase_at"], utc=True).dt.tz_convert(None).dt.normalize()
        frame[f"days_since_{moment}_purchase"] = (day - at).dt.days
    greeted = birthdays_on(frame[["customer_id", "birth_date"]].dropna(), as_of)["customer_id"]
    frame["birthday_today"] = frame["customer_id"].isin(greeted)
    return frame.drop(columns=["birth_date"])


def keep_history(connection: sa.Connection, table: sa.Table, group: str, members: pd.DataFrame, now: datetime) -> None:
    """Members entering a group (a segment, an audience) open a row of ``table``, members leaving close
    theirs: the history of who was in, from when to when."""
    current = read_frame(connection, sa.select(table.c[group], table.c.customer_id).where(table.c.left_at.is_(None)))
    held = set(zip(current[group], current["customer_id"], strict=True))
    wanted = set(zip(members[group], members["customer_id"], strict=True))
    left = pd.DataFrame(sorted(held - wanted), columns=[group, "customer_id"])
    if not left.empty:
        leavers = sa.Table(
            "hub_leavers",
            sa.MetaData(),
            sa.Column(group, sa.String),
            sa.Column("customer_id", sa.String),
            prefixes=["TEMPORARY"],
        )
        leavers.drop(connection, checkfirst=True)
        leavers.create(connection)
        insert_frame(connection, leavers.name, left, schema=None)
        gone = sa.exists().where(leavers.c[group] == table.c[group], leavers.c.customer_id == table.c.customer_id)
        connection.execute(sa.update(table).where(table.c.left_at.is_(None), gone).values(left_at=now))
        leavers.drop(connection)
    entered = pd.DataFrame(sorted(wanted - held), columns=[group, "customer_id"])
    insert_frame(connection, table.name, entered.assign(entered_at=now, left_at=None))


def save_membership(connection: sa.Connection, members: pd.DataFrame, segments: list[str], now: datetime) -> None:
    """Segment membership with its history, and the size of every segment in this run."""
    keep_history(connection, t.segment_membership, "segment", members, now)
    sizes = members["segment"].value_counts().reindex(segments, fill_value=0)
    insert_frame(
        connection,
        "segment_size",
        pd.DataFrame({"segment": sizes.index, "computed_at": now, "members": sizes.to_numpy(dtype=int)}),
    )


def current_members(connection: sa.Connection) -> pd.DataFrame:
    m = t.segment_membership
    return read_frame(connection, sa.select(m.c.segment, m.c.customer_id).where(m.c.left_at.is_(None)))


def size_changes(connection: sa.Connection) -> pd.DataFrame:
    """Per segment: members in the last run and in the run before it (null for a segment new in the last)."""
    sizes = read_frame(connection, sa.select(t.segment_size))
    sizes = sizes.sort_values(["segment", "computed_at"], ascending=[True, False])
    run = sizes.groupby("segment").cumcount()
    latest = sizes[run == 0].set_index("segment")["members"]
    before = sizes[run == 1].set_index("segment")["members"].reindex(latest.index)
    return pd.DataFrame({"members": latest, "before": before}).rename_axis("segment").reset_index()


def read_granted(connection: sa.Connection) -> pd.DataFrame:
    c = t.consent_state
    return read_frame(connection, sa.select(c.c.customer_id, c.c.purpose).where(c.c.granted))


def read_flags(connection: sa.Connection) -> pd.DataFrame:
    f = t.subject_flag
    return read_frame(connection, sa.select(f.c.customer_id, f.c.flag).order_by(f.c.flag.desc()))


def read_recent_categories(
    connection: sa.Connection, categories: dict[str, list[str]], as_of: date, days: int
) -> pd.DataFrame:
    """Per customer and product category, how many days ago they last bought from it (within ``days``)."""
    columns = ["customer_id", "category", "days_ago"]
    lines = order_lines_sql(connection)
    if lines is None or not categories:
        return pd.DataFrame(columns=columns)
    since = pd.Timestamp(as_of) - pd.Timedelta(days=days)
    orders = read_frame(
        connection,
        f"SELECT x.customer_id, o.at, o.items FROM ({lines}) o JOIN {S}.customer_xref x "
        "ON x.source_system = o.source_system AND x.source_key = o.source_key WHERE o.at >= :since",
        since=since.to_pydatetime(),
    )
    category_of = {product: category for category, products in categories.items() for product in products}
    found = []
    for customer, at, items in orders.itertuples(index=False):
        ago = (pd.Timestamp(as_of) - pd.Timestamp(at).tz_localize(None).normalize()).days
        for item in json.loads(items or "[]"):
            category = category_of.get(item.get("name")) if isinstance(item, dict) else None
            if category:
                found.append((customer, category, ago))
    frame = pd.DataFrame(found, columns=columns)
    return frame.groupby(["customer_id", "category"], as_index=False)["days_ago"].min()


def read_sent_recently(connection: sa.Connection, key: bytes, since: datetime, customers: pd.Index) -> pd.Series:
    """Messages the tools were actually sent since ``since``, per customer of ``customers``: audience entries the
    sync log confirms as sent, traced from their pseudonymous target back to the customer through the crosswalk.

    Only the records of ``customers`` (those an audience may take) are hashed to be traced: the pseudonyms are
    keyed hashes, made one by one, and every customer's would cost seconds at a million records."""
    if not table_exists(connection, S, "sync_log"):
        return pd.Series(dtype=int)
    log = t.sync_log
    sent = read_frame(
        connection,
        sa.select(log.c.tool, log.c.target_ref, sa.func.count().label("messages"))
        .where(log.c.operation == "add", log.c.status == "sent", log.c.logged_at >= since)
        .group_by(log.c.tool, log.c.target_ref),
    )
    if sent.empty:
        return pd.Series(dtype=int)
    tools = set(sent["tool"])  # pseudonyms are keyed hashes: made only for the records of tools written to
    xref = read_frame(connection, sa.select(t.customer_xref))
    xref = xref[xref["customer_id"].isin(customers)]
    written = xref[xref["source_system"].isin(tools)]
    owner = {target_ref(key, s, k): c for s, k, c in written.itertuples(index=False)}
    if "ads" in tools:
        owner |= {target_ref(key, "ads", c): c for c in xref["customer_id"].unique()}
    sent["customer_id"] = sent["target_ref"].map(owner)
    return sent.dropna(subset=["customer_id"]).groupby("customer_id")["messages"].sum()


def current_audiences(connection: sa.Connection) -> pd.DataFrame:
    d = t.audience_decision
    return read_frame(connection, sa.select(d.c.audience, d.c.customer_id).where(d.c.included))


def save_decisions(connection: sa.Connection, decisions: pd.DataFrame, now: datetime) -> None:
    """This run's decisions, and the history of who was included in each audience."""
    write_differences(connection, t.audience_decision, decisions.assign(computed_at=now), unchanged_by=("computed_at",))
    included = decisions.loc[decisions["included"].astype(bool), ["audience", "customer_id"]]
    keep_history(connection, t.audience_membership, "audience", included, now)


def size_history(connection: sa.Connection, segment: str, runs: int = 10) -> pd.DataFrame:
    size = t.segment_size
    return read_frame(
        connection,
        sa.select(size.c.computed_at, size.c.members)
        .where(size.c.segment == segment)
        .order_by(size.c.computed_at.desc())
        .limit(runs),
    )


def decision(connection: sa.Connection, audience: str, customer_id: str):
    """The audience's decision about one customer (``included``, ``reason``), or None when not a member."""
    d = t.audience_decision
    return connection.execute(
        sa.select(d.c.included, d.c.reason).where(d.c.audience == audience, d.c.customer_id == customer_id)
    ).first()
