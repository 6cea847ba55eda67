"""End to end: the four simulated systems land in the hub through the Dagster pipeline.

Runs on DuckDB and on PostgreSQL. Counts are checked against the systems themselves (SQL, HTTP,
files), never against the simulator's ground truth.
"""

from __future__ import annotations

import sqlite3
from itertools import pairwise
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from conftest import run_assets

from hub import storage
from hub.ledger import account, latest_load_id
from hub.simulator import advance, load_meta, running_simulator
from quality.tables import landed_tables
from sources.landing import QUARANTINE_TABLE
from sources.loyalty.helpers import MEMBER_HEADER, Drop, parse_members

# Landing is tested on its own: the runs here land (with every landing check) and stop there. Publishing, which
# changes the shop's accounts that a run reads back, and everything after landing would only cost time.
RE_READ_BY_DESIGN = {"esp_campaign", "esp_email_activity"}  # recent campaigns' activity is re-read


def erp_count(systems: Path, table: str, where: str = "1=1", params: tuple = ()) -> int:
    with sqlite3.connect(systems / "erp.sqlite") as connection:
        return connection.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchone()[0]


def webshop_total(sim, path: str, **params) -> int:
    response = requests.get(
        f"{sim.webshop_url}/wp-json/wc/v3/{path}",
        params={"per_page": 1, **params},
        auth=(sim.webshop_key, sim.webshop_secret),
        timeout=10,
    )
    response.raise_for_status()
    return int(response.headers["X-WP-Total"])


def esp_member_total(sim, **params) -> int:
    response = requests.get(
        f"{sim.esp_url}/lists/{sim.esp_list_id}/members",
        params={"count": 1, **params},
        auth=("any", sim.esp_key),
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["total_items"]


def loyalty_lines(systems: Path, prefix: str) -> int:
    files = sorted((systems / "loyalty").glob(f"{prefix}_*.csv"))
    if prefix == "jasenet":
        files = files[-1:]  # a member appears once per snapshot; the newest holds them all
    return sum(len(f.read_text(encoding="utf-8-sig").splitlines()) - 1 for f in files)


def table_counts(url: str) -> dict[str, int]:
    with storage.engine(url).connect() as connection:
        return {
            t.name: connection.execute(sa.text(f"SELECT count(*) FROM landing.{t.name}")).scalar()
            for t in landed_tables()
        }


def quarantined(url: str, table: str) -> int:
    with storage.engine(url).connect() as connection:
        return connection.execute(
            sa.text(f"SELECT count(*) FROM landing.{QUARANTINE_TABLE} WHERE table_name = :t"),
            {"t": table},
        ).scalar()


def last_accounts(url: str) -> dict[str, object]:
    with storage.engine(url).connect() as connection:
        return {
            t: account(connection, t.split("_")[0], t, latest_load_id(connection, t.split("_")[0]))
            for t in (table.name for table in landed_tables())
        }


def test_first_run_lands_every_record_of_every_system_or_quarantines_it(piped_settings, systems_dir, simulator):
    """The prepared hub is one first run over the systems the simulator serves."""
    url = piped_settings.database_url
    counts = table_counts(url)
    assert all(count > 0 for count in counts.values()), counts
    expected = {
        "erp_customer": erp_count(systems_dir, "customer"),
        "erp_invoice": erp_count(systems_dir, "invoice"),
        "webshop_customer": webshop_total(simulator, "customers"),
        "webshop_order": webshop_total(simulator, "orders"),
        "esp_member": esp_member_total(simulator),
        "loyalty_purchase": loyalty_lines(systems_dir, "ostot"),
    }
    for table, total in expected.items():
        assert counts[table] + quarantined(url, table) == total, table
    assert counts["loyalty_member"] + quarantined(url, "loyalty_member") == loyalty_lines(systems_dir, "jasenet")
    assert quarantined(url, "loyalty_purchase") > 0, "the simulator's broken CSV rows are quarantined"
    assert all(a.balanced for a in last_accounts(url).values())


def test_a_second_run_reads_nothing_new_and_adds_no_duplicates(piped_settings):
    settings = piped_settings
    before = table_counts(settings.database_url)
    first_loads = {t: a.load_id for t, a in last_accounts(settings.database_url).items()}
    landed = run_assets(settings, "landing")
    assert landed.ok, landed.errors + landed.failed_checks
    assert table_counts(settings.database_url) == before
    accounts = last_accounts(settings.database_url)
    activity = accounts["esp_email_activity"]
    assert activity.read > 0 and activity.unchanged == activity.read - activity.quarantined, (
        "recent campaigns' activity is read again, and none of it is written again"
    )
    for table, result in accounts.items():
        assert result.balanced
        if table not in RE_READ_BY_DESIGN:
            # Either the system had nothing new (dlt makes no load) or its new load read nothing.
            assert result.load_id == first_loads[table] or result.read == 0, table


def test_after_a_week_only_what_changed_is_read(piped_settings, systems_dir, simulator):
    settings = piped_settings
    clock = simulator_clock(systems_dir)
    advance(systems_dir, days=7)

    landed = run_assets(settings, "landing")
    assert landed.ok, landed.errors + landed.failed_checks
    accounts = last_accounts(settings.database_url)
    changed = {
        "erp_customer": erp_count(systems_dir, "customer", "updated_at > ?", (clock.replace("T", " "),)),
        "webshop_customer": webshop_total(simulator, "customers", modified_after=clock),
        "esp_member": esp_member_total(simulator, since_last_changed=clock),
    }
    for table, count in changed.items():
        assert accounts[table].read == count, table
    assert changed["webshop_customer"] > 0 and changed["esp_member"] > 0
    assert changed["webshop_customer"] < webshop_total(simulator, "customers") / 2
    snapshots = sorted((systems_dir / "loyalty").glob("jasenet_*.csv"))
    assert len(snapshots) == 8
    rows = [f.read_bytes().splitlines()[1:] for f in snapshots]
    changed = 0
    for before, now in pairwise(rows):
        seen = set(before)
        changed += sum(1 for line in now if line.strip() and line not in seen)
    assert 0 < changed < sum(len(r) for r in rows[1:]) / 10
    assert accounts["loyalty_member"].read == changed, "a nightly snapshot's lines that changed are read, once"
    landed, newest = landed_members(settings.database_url), newest_members(snapshots[-1])
    assert {k: landed.get(k) for k in newest} == newest, "as if the newest snapshot was read whole"
    assert all(a.balanced for a in accounts.values())


MEMBER_FIELDS = [c for c in MEMBER_HEADER if c != "jasennumero"]


def newest_members(snapshot: Path) -> dict[str, tuple]:
    """The members of a snapshot file as the loyalty dialect parses them (its broken lines left out)."""
    drop = Drop(snapshot.name, snapshot.read_bytes(), "-")
    return {r["jasennumero"]: tuple(r[c] for c in MEMBER_FIELDS) for rows, _ in parse_members(drop) for r in rows}


def landed_members(url: str) -> dict[str, tuple]:
    """The landed loyalty members with those fields."""
    with storage.engine(url).connect() as connection:
        rows = connection.execute(
            sa.text(f"SELECT jasennumero, {', '.join(MEMBER_FIELDS)} FROM landing.loyalty_member")
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def simulator_clock(systems: Path) -> str:
    return load_meta(systems).clock.isoformat()


@pytest.mark.parametrize("piped_backend", ["duckdb"], indirect=True)
def test_429_and_5xx_lose_nothing(piped_settings, systems_dir, tmp_path, make_settings):
    """The same systems served with a third of all calls failing land exactly the same rows as the prepared
    hub's clean run over them.

    DuckDB only: the HTTP behaviour does not depend on the hub's database.
    """
    clean = piped_settings
    with running_simulator(systems_dir, fault_rate=0.3, strict=True) as flaky:
        faulty = make_settings(flaky, f"duckdb:///{tmp_path / 'faulty.duckdb'}", tmp_path / "faulty")
        landed = run_assets(faulty, "landing")
        assert landed.ok, landed.errors + landed.failed_checks
    assert table_counts(faulty.database_url) == table_counts(clean.database_url)
