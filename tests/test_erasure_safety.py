"""An erasure asks the tools to delete the person's records and nothing of anyone else, against a server of
the contract page alone (the strict simulator ignores the parameters the contract does not name, so a
filter the hub wrongly relied on would come back as every order of the shop).

What the tools received is read from the simulator's own write log and store, and compared with what the
hub attributes to the person; identifiers are compared, never printed.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

from hub import storage
from hub.access.acting import Actor
from hub.gdpr import service
from hub.gdpr.requests import RequestError
from hub.simulator import esp, load_meta, webshop
from hub.simulator.writes_log import received_writes

DPO = Actor("test-dpo", "dpo")


def frame(settings, sql: str, **params):
    with storage.engine(settings.database_url).connect() as connection:
        return storage.read_frame(connection, sql, **params)


def person_with_orders(settings) -> tuple[str, list[str], list[int]]:
    """A customer with an email-platform member, a loyalty member and a webshop account with orders in the hub:
    (customer, accounts, landed order ids)."""
    owners = frame(
        settings,
        "SELECT x.customer_id, x.source_key, count(*) AS n FROM mdm.customer_xref x JOIN landing.webshop_order o "
        "ON CAST(o.customer_id AS VARCHAR) = x.source_key WHERE x.source_system = 'webshop' AND x.customer_id IN "
        "(SELECT customer_id FROM mdm.customer_xref WHERE source_system = 'esp') AND x.customer_id IN "
        "(SELECT customer_id FROM mdm.customer_xref WHERE source_system = 'loyalty') "
        "GROUP BY x.customer_id, x.source_key ORDER BY n DESC, x.customer_id LIMIT 1",
    )
    customer = owners["customer_id"].iloc[0]
    keys = frame(
        settings,
        "SELECT source_key FROM mdm.customer_xref WHERE customer_id = :c AND source_system = 'webshop'",
        c=customer,
    )["source_key"]
    accounts = [k for k in keys if not k.startswith("order:")]
    assert all(a.isdigit() for a in accounts)
    landed = frame(settings, f"SELECT id FROM landing.webshop_order WHERE customer_id IN ({', '.join(accounts)})")
    return customer, accounts, sorted(landed["id"].astype(int))


def keys_of(settings, customer: str, system: str) -> set[str]:
    return set(
        frame(
            settings,
            "SELECT source_key FROM mdm.customer_xref WHERE customer_id = :c AND source_system = :s",
            c=customer,
            s=system,
        )["source_key"]
    )


def shop_orders(systems: Path) -> dict[int, int]:
    """Order id -> customer id, as the simulated shop holds them now."""
    with sqlite3.connect(systems / webshop.FILE) as connection:
        return dict(connection.execute("SELECT id, customer_id FROM orders").fetchall())


def place_order(systems: Path, customer_id: int) -> int:
    """A new order of ``customer_id`` that the hub has not landed: the shop's clock is past the last landing."""
    with sqlite3.connect(systems / webshop.FILE) as connection:
        template, status = connection.execute("SELECT doc, status FROM orders ORDER BY id LIMIT 1").fetchone()
        new_id = connection.execute("SELECT max(id) + 1 FROM orders").fetchone()[0]
        doc = {**json.loads(template), "id": new_id, "customer_id": customer_id}
        moment = load_meta(systems).clock.isoformat()
        doc["date_modified_gmt"] = moment
        connection.execute(
            "INSERT INTO orders (id, customer_id, status, date_modified_gmt, doc) VALUES (?, ?, ?, ?, ?)",
            (new_id, customer_id, status, moment, json.dumps(doc)),
        )
    return new_id


def touch_order_of_someone_else(systems: Path, accounts: list[str]) -> int:
    """Another customer's order, modified after the last landing: the shop lists it with the new orders."""
    with sqlite3.connect(systems / webshop.FILE) as connection:
        owned = ", ".join(accounts)
        order_id = connection.execute(
            f"SELECT id FROM orders WHERE customer_id NOT IN ({owned}) ORDER BY id LIMIT 1"
        ).fetchone()[0]
        connection.execute(
            "UPDATE orders SET date_modified_gmt = ? WHERE id = ?", (load_meta(systems).clock.isoformat(), order_id)
        )
    return order_id


def deleted_ids(systems: Path, store: str, path: str) -> list[int]:
    return [
        item
        for write in received_writes(systems / store)
        if write.path.endswith(path) and write.status == 200
        for item in json.loads(write.body).get("delete", [])
    ]


def erase(settings, customer: str, **options) -> service.Outcome:
    request_id = service.submit(settings, DPO, "erasure", "customer", customer)
    service.verify(settings, DPO, request_id, "test: identity document checked")
    return service.carry_out(settings, DPO, request_id, **options)


def test_an_erasure_deletes_the_persons_orders_and_nobody_elses(piped_settings, systems_dir: Path):
    customer, accounts, landed = person_with_orders(piped_settings)
    guests = sorted(int(k.removeprefix("order:")) for k in keys_of(piped_settings, customer, "webshop") if ":" in k)
    members = keys_of(piped_settings, customer, "esp")
    loyalty_members = keys_of(piped_settings, customer, "loyalty")
    late = place_order(systems_dir, int(accounts[0]))
    other = touch_order_of_someone_else(systems_dir, accounts)
    before = shop_orders(systems_dir)

    plan = erase(piped_settings, customer, dry_run=True)
    assert plan.status == "verified" and received_writes(systems_dir / webshop.FILE) == []
    assert {c["tool"] for c in plan.document["calls"]} >= {"webshop"}
    orders_planned = next(c for c in plan.document["calls"] if c["call"].startswith("POST /wp-json/wc/v3/orders"))
    assert orders_planned["records"] == len({*landed, *guests, late})

    outcome = service.carry_out(piped_settings, DPO, plan.request_id)
    assert outcome.status == "completed", outcome.summary
    deleted_orders = deleted_ids(systems_dir, webshop.FILE, "/orders/batch")
    assert sorted(deleted_orders) == sorted({*landed, *guests, late})
    assert all(before[o] in {int(a) for a in accounts} or o in guests for o in deleted_orders)
    assert sorted(deleted_ids(systems_dir, webshop.FILE, "/customers/batch")) == sorted(int(a) for a in accounts)
    after = shop_orders(systems_dir)
    assert other in after and set(after) == set(before) - set(deleted_orders), "nobody else's order is gone"

    notices = list(Path(piped_settings.loyalty_inbox).glob("poistot_*.csv"))
    lines = [line.split(";")[0] for n in notices for line in n.read_text(encoding="utf-8-sig").splitlines()[1:]]
    assert loyalty_members and sorted(lines) == sorted(loyalty_members), (
        "the vendor is told of the person's members, only those"
    )
    assert members
    told = {w.path.split("/members/")[1].split("/")[0] for w in received_writes(systems_dir / esp.FILE)}
    assert told == members, "every member of the person, and only those, asked to be deleted"


def test_an_erasure_over_the_ceiling_stops_before_anything_is_sent(piped_settings, systems_dir: Path):
    customer, accounts, landed = person_with_orders(piped_settings)
    guests = {int(k.removeprefix("order:")) for k in keys_of(piped_settings, customer, "webshop") if ":" in k}
    ceiling = dataclasses.replace(piped_settings, erasure_max_deletes="1")
    with pytest.raises(RequestError, match="more than the ceiling of 1"):
        erase(ceiling, customer)
    assert received_writes(systems_dir / webshop.FILE) == [] and received_writes(systems_dir / esp.FILE) == []
    assert not list((piped_settings.home / "outbox").rglob("poistot_*.csv"))
    request = frame(piped_settings, "SELECT request_id, status FROM mdm.dsr_request WHERE kind = 'erasure'")
    assert list(request["status"]) == ["verified"], "nothing was carried out"
    confirmed = service.carry_out(ceiling, DPO, request["request_id"].iloc[0], max_deletes=1000)
    assert confirmed.status == "completed"
    assert sorted(deleted_ids(systems_dir, webshop.FILE, "/orders/batch")) == sorted({*landed, *guests})
