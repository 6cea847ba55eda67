"""Segments in the pipeline, on DuckDB and PostgreSQL: purchases of every system reach the right customer,
soft-deleted ERP customers keep their invoices, bad segment files and jumping segments stop publishing,
audiences hold only those who may be contacted, and the new tables follow the access rules."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import run_assets
from typer.testing import CliRunner

from hub import storage
from hub.access.reader import read_table
from hub.cli import app
from hub.simulator import erp

FAILED_SIZE_CHECK = "segments/segment_membership:sizes_steady"


def frame(settings, sql: str, **params) -> pd.DataFrame:
    with storage.engine(settings.database_url).connect() as connection:
        return storage.read_frame(connection, sql, **params)


def expected_revenue(settings, customer: str) -> float:
    """The customer's sales minus returns, worked out from the landing tables directly, per the issue's rules."""
    keys = frame(settings, "SELECT source_system, source_key FROM mdm.customer_xref WHERE customer_id = :c", c=customer)
    by_system = keys.groupby("source_system")["source_key"].apply(list).to_dict()
    total = 0.0
    for key in by_system.get("erp", []):
        invoices = frame(settings, "SELECT total_eur, status FROM landing.erp_invoice WHERE customer_no = :k", k=key)
        total += float(invoices.loc[invoices["status"] != "credited", "total_eur"].astype(float).sum())
        total -= float(invoices.loc[invoices["status"] == "credited", "total_eur"].astype(float).abs().sum())
    for key in by_system.get("webshop", []):
        where = "id = :k" if key.startswith("order:") else "customer_id = :k"
        value = int(key.removeprefix("order:"))
        orders = frame(settings, f"SELECT total, status FROM landing.webshop_order WHERE {where}", k=value)
        total += float(orders.loc[orders["status"].isin(["completed", "processing"]), "total"].astype(float).sum())
    for key in by_system.get("loyalty", []):
        bought = frame(settings, "SELECT summa FROM landing.loyalty_purchase WHERE jasennumero = :k", k=key)
        total += float(bought["summa"].astype(float).sum())
    return round(total, 2)


def test_every_customers_revenue_is_their_sales_minus_returns_from_every_system(piped_settings):
    metrics = frame(piped_settings, "SELECT customer_id, revenue_total_eur, channels FROM mdm.customer_metrics")
    golden = frame(piped_settings, "SELECT customer_id FROM mdm.golden_customer")
    assert sorted(metrics["customer_id"]) == sorted(golden["customer_id"]), "one row per golden customer"
    buyers = metrics[metrics["channels"].str.count(",") >= 1].sort_values("customer_id").head(15)
    assert len(buyers) > 5, "customers who bought in more than one system"
    for customer, revenue, _ in buyers.itertuples(index=False):
        assert float(revenue) == pytest.approx(expected_revenue(piped_settings, customer), abs=0.005), customer


def test_a_soft_deleted_erp_customer_keeps_its_invoices_and_gives_no_values(piped_settings, systems_dir):
    invoiced = frame(
        piped_settings,
        "SELECT x.customer_id, x.source_key FROM mdm.customer_xref x JOIN landing.erp_invoice i "
        "ON i.customer_no = x.source_key WHERE x.source_system = 'erp' AND i.status = 'paid' ORDER BY 1 LIMIT 1",
    ).iloc[0]
    with sqlite3.connect(systems_dir / erp.FILE) as connection:
        connection.execute(
            "UPDATE customer SET is_deleted = 1, updated_at = ? WHERE customer_no = ?",
            (datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"), invoiced["source_key"]),
        )
    outcome = run_assets(piped_settings, "landing", "golden", "consent", "segments")  # nothing published
    assert outcome.ok, outcome.errors + outcome.failed_checks
    record = frame(
        piped_settings,
        "SELECT x.customer_id, r.soft_deleted FROM mdm.customer_xref x JOIN mdm.source_record r "
        "ON r.unique_id = 'erp:' || x.source_key WHERE x.source_system = 'erp' AND x.source_key = :k",
        k=invoiced["source_key"],
    )
    assert len(record) == 1 and bool(record["soft_deleted"].iloc[0]), "still the person's record, marked"
    customer = record["customer_id"].iloc[0]
    lineage = frame(piped_settings, "SELECT source_key FROM mdm.golden_lineage WHERE customer_id = :c", c=customer)
    assert invoiced["source_key"] not in set(lineage["source_key"]), "no golden value from a deleted record"
    channels = frame(piped_settings, "SELECT channels FROM mdm.customer_metrics WHERE customer_id = :c", c=customer)
    assert "erp" in channels["channels"].iloc[0].split(","), "the invoices stay with the person"


@pytest.mark.parametrize("piped_backend", ["duckdb"], indirect=True)
def test_a_bad_segment_file_stops_the_run_before_anything_is_published(piped_settings, tmp_path, monkeypatch):
    """DuckDB only: the segment file is read and refused the same way whatever the hub's database."""
    folder = tmp_path / "segments"
    folder.mkdir()
    (folder / "broken.yaml").write_text(
        "name: broken\ndescription: d\nowner: o\npurpose: profiling\nrule:\n  all:\n"
        "    - {field: churn_risk, op: gte, value: high}\n"
    )
    monkeypatch.setenv("HUB_SEGMENTS_DIR", str(folder))
    outcome = run_assets(piped_settings, "segments", "publish")  # what comes before segments is the prepared hub's
    assert not outcome.ok
    assert any("broken.yaml line 7: rule.all[0]: value 'high' is not a number" in e for e in outcome.errors)
    assert "publish/deliveries" not in outcome.materializations


def test_a_segment_that_jumps_in_size_stops_publishing(piped_settings):
    with storage.engine(piped_settings.database_url).begin() as connection:
        connection.execute(sa.text("UPDATE mdm.segment_size SET members = members * 10 + 100"))
    outcome = run_assets(piped_settings, "segments", "publish")
    assert FAILED_SIZE_CHECK in outcome.failed_checks
    assert "publish/deliveries" not in outcome.materializations, "a failed check publishes nothing"


def test_audiences_hold_only_those_who_may_be_contacted(piped_settings):
    decisions = frame(piped_settings, "SELECT audience, customer_id, included, reason FROM mdm.audience_decision")
    granted = frame(piped_settings, "SELECT customer_id, purpose FROM mdm.consent_state WHERE granted")
    banned = frame(
        piped_settings,
        "SELECT DISTINCT x.customer_id FROM landing.erp_customer e JOIN mdm.customer_xref x "
        "ON x.source_system = 'erp' AND x.source_key = e.customer_no WHERE e.marketing_ban",
    )
    included = decisions[decisions["included"].astype(bool)]
    assert len(included) > 0 and len(decisions) > len(included)
    assert not set(included["customer_id"]) & set(banned["customer_id"]), "an ERP marketing ban keeps people out"
    purposes = {"birthdays": "email_marketing"}
    consented = set(zip(granted["customer_id"], granted["purpose"], strict=True))
    for audience, customer, _, _ in included.itertuples(index=False):
        assert (customer, purposes.get(audience, "profiling")) in consented, audience


def test_explain_says_why_a_customer_is_out(piped_settings):
    out = frame(
        piped_settings,
        "SELECT audience, customer_id, reason FROM mdm.audience_decision WHERE NOT included ORDER BY 1, 2 LIMIT 1",
    ).iloc[0]
    env = {"HUB_HOME": str(piped_settings.home), "HUB_DATABASE_URL": piped_settings.database_url, "COLUMNS": "200"}
    shown = CliRunner().invoke(app, ["audience", "explain", out["audience"], out["customer_id"]], env=env)
    assert shown.exit_code == 0, shown.output
    assert f"out of the audience: {out['reason']}" in shown.output and "yes" in shown.output


def test_marketing_reads_metrics_of_consenting_people_only(piped_settings):
    with storage.engine(piped_settings.database_url).connect() as connection:
        seen = read_table(connection, "marketing", "customer_metrics", "profiling")
    granted = frame(piped_settings, "SELECT customer_id FROM mdm.consent_state WHERE purpose = 'profiling' AND granted")
    assert set(seen["customer_id"]) == set(granted["customer_id"]) & set(
        frame(piped_settings, "SELECT customer_id FROM mdm.customer_metrics")["customer_id"]
    )


def test_history_can_be_replayed_as_of_a_past_day(piped_settings):
    env = {f"HUB_{k.upper()}": str(v) for k, v in vars(piped_settings).items() if v is not None}
    result = CliRunner().invoke(app, ["run", "--as-of", "2025-06-30"], env=env)
    assert result.exit_code == 0, result.output
    metrics = frame(piped_settings, "SELECT as_of, last_purchase_at FROM mdm.customer_metrics")
    assert set(pd.to_datetime(metrics["as_of"]).dt.date.astype(str)) == {"2025-06-30"}
    last = pd.to_datetime(metrics["last_purchase_at"], utc=True).dropna()
    assert (last < pd.Timestamp("2025-07-01", tz="UTC")).all(), "nothing after the day counts"
    refused = CliRunner().invoke(app, ["run", "--as-of", "yesterday"], env=env)
    assert refused.exit_code == 2 and "--as-of" in refused.output
