"""The simulator of the four operational systems, tested against real files and a real HTTP server."""

from __future__ import annotations

import base64
import csv
import hashlib
import re
import shutil
import socket
import sqlite3
import time
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import mailchimp_marketing
import pytest
import requests
import sqlalchemy as sa
from woocommerce import API
from woocommerce.oauth import OAuth

from hub.simulator import advance, generate, load_meta, running_simulator

PERSONS = 1500
SEED = 7
TODAY = date(2025, 6, 1)
LOYALTY_HEADER = (
    "jasennumero;etunimi;sukunimi;syntymaaika;puhelin;sahkoposti;postinumero;liittynyt;taso;"
    "pisteet;markkinointilupa;lupa_muutettu"
)
FI_DATE = re.compile(r"^\d{2}\.\d{2}\.\d{4}$")
FI_TIME = re.compile(r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}$")
FI_AMOUNT = re.compile(r"^-?\d+,\d{2}$")


def file_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def rows(path: Path, query: str, *params: object) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def truth_keys(world: Path) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {"erp": set(), "webshop": set(), "loyalty": set(), "esp": set()}
    with (world / "truth.csv").open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            keys[record["system"]].add(record["source_key"])
    return keys


def record_keys(world: Path) -> dict[str, set[str]]:
    """Every identity record actually present in each system."""
    meta = load_meta(world)
    snapshot = world / "loyalty" / f"jasenet_{meta.clock:%Y%m%d}.csv"
    with snapshot.open(encoding="utf-8-sig", newline="") as handle:
        members = {line[0] for line in list(csv.reader(handle, delimiter=";"))[1:]}
    webshop = world / "webshop.sqlite"
    return {
        "erp": {r[0] for r in rows(world / "erp.sqlite", "SELECT customer_no FROM customer")},
        "webshop": {str(r[0]) for r in rows(webshop, "SELECT id FROM customer")}
        | {f"order:{r[0]}" for r in rows(webshop, "SELECT id FROM orders WHERE customer_id = 0")},
        "loyalty": members,
        "esp": {r[0] for r in rows(world / "esp.sqlite", "SELECT id FROM member")},
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate(out, PERSONS, seed=SEED, today=TODAY)
    return out


@pytest.fixture()
def writable_world(world: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "world"
    shutil.copytree(world, copy)
    return copy


@pytest.fixture(scope="module")
def server(world: Path):
    with running_simulator(world) as endpoints:
        yield endpoints


def woo_client(endpoints) -> API:
    return API(
        url=endpoints.webshop_url,
        consumer_key=endpoints.webshop_key,
        consumer_secret=endpoints.webshop_secret,
        version="wc/v3",
        timeout=30,
    )


def chimp_client(endpoints) -> mailchimp_marketing.Client:
    client = mailchimp_marketing.Client()
    client.set_config({"api_key": endpoints.esp_key})
    client.api_client.host = endpoints.esp_url
    return client


# --- generation -------------------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    generate(tmp_path / "a", 300, seed=3, today=TODAY)
    generate(tmp_path / "b", 300, seed=3, today=TODAY)
    generate(tmp_path / "c", 300, seed=4, today=TODAY)
    first, second, other = (file_hashes(tmp_path / name) for name in "abc")
    assert first == second
    assert {"erp.sqlite", "webshop.sqlite", "esp.sqlite", "truth.csv", "simulation.json"} <= set(first)
    assert first["truth.csv"] != other["truth.csv"]
    assert first["erp.sqlite"] != other["erp.sqlite"]


def test_generating_again_replaces_the_previous_world(tmp_path: Path) -> None:
    generate(tmp_path, 300, seed=3, today=TODAY)
    advance(tmp_path, days=1)
    generate(tmp_path, 200, seed=3, today=TODAY)
    meta = load_meta(tmp_path)
    assert meta.persons == 200 and meta.days_advanced == 0
    assert not (tmp_path / "loyalty" / f"jasenet_{TODAY + timedelta(days=1):%Y%m%d}.csv").exists()


def test_record_counts_are_plausible(world: Path) -> None:
    counts = load_meta(world).counts
    assert 0.28 < counts["erp_customers"] / PERSONS < 0.42
    assert 0.48 < counts["webshop_customers"] / PERSONS < 0.65
    assert 0.43 < counts["loyalty_members"] / PERSONS < 0.57
    assert 0.50 < counts["esp_members"] / PERSONS < 0.68
    assert 2.1 < counts["truth_records"] / PERSONS < 2.8
    assert counts["webshop_guest_orders"] > 0.05 * PERSONS
    assert counts["esp_campaigns"] == 13
    assert counts["loyalty_files"] == 91


def test_truth_covers_every_identity_record_of_every_system(world: Path) -> None:
    assert truth_keys(world) == record_keys(world)
    with (world / "truth.csv").open(encoding="utf-8", newline="") as handle:
        people = Counter(record["person_id"] for record in csv.DictReader(handle))
    assert max(people.values()) >= 4, "some persons should be in several systems"
    assert len(people) < PERSONS


def test_identities_are_messy_across_systems(world: Path) -> None:
    erp = rows(world / "erp.sqlite", "SELECT first_name, street_address, city, phone FROM customer")
    assert any(" " in first for first, *_ in erp), "full given names"
    assert any(city and city.isupper() for _, _, city, _ in erp), "upper-case cities"
    assert any(street and re.search(r"\w+k\. \d", street) for _, street, _, _ in erp), "abbreviated streets"
    phones = {phone for *_, phone in erp if phone}
    assert (
        any(p.startswith("+358") for p in phones) and any(" " in p for p in phones) and any(p.isdigit() for p in phones)
    )
    deleted = rows(world / "erp.sqlite", "SELECT COUNT(*) FROM customer WHERE is_deleted = 1")[0][0]
    assert 0 < deleted < 0.1 * len(erp)
    credits = rows(world / "erp.sqlite", "SELECT total_eur, status FROM invoice WHERE invoice_no LIKE 'H%'")
    assert credits and all(total < 0 and status == "credited" for total, status in credits)
    with (world / "truth.csv").open(encoding="utf-8", newline="") as handle:
        owners = Counter(
            (r["system"], r["person_id"]) for r in csv.DictReader(handle) if not r["source_key"].startswith("order:")
        )
    assert any(system == "webshop" and n == 2 for (system, _), n in owners.items()), "two accounts for one person"


def test_erp_schema_reflects_with_the_contract_types(world: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{world / 'erp.sqlite'}")
    metadata = sa.MetaData()
    metadata.reflect(engine)
    customer, invoice = metadata.tables["customer"], metadata.tables["invoice"]
    assert isinstance(customer.c.birth_date.type, sa.DATE)
    assert isinstance(customer.c.updated_at.type, sa.TIMESTAMP)
    assert isinstance(customer.c.marketing_ban.type, sa.BOOLEAN)
    assert isinstance(invoice.c.total_eur.type, sa.NUMERIC)
    assert [c.name for c in customer.columns] == [
        "customer_no",
        "first_name",
        "last_name",
        "street_address",
        "postal_code",
        "city",
        "country_code",
        "phone",
        "email",
        "birth_date",
        "marketing_ban",
        "created_at",
        "updated_at",
        "is_deleted",
    ]
    with engine.connect() as conn:
        row = conn.execute(sa.select(customer).where(customer.c.birth_date.is_not(None)).limit(1)).one()
        bill = conn.execute(sa.select(invoice).limit(1)).one()
    assert isinstance(row.birth_date, date) and isinstance(row.updated_at, datetime)
    assert row.marketing_ban in (True, False) and row.is_deleted in (True, False)
    assert isinstance(bill.total_eur, Decimal) and isinstance(bill.invoice_date, date)
    assert row.updated_at < load_meta(world).clock
    engine.dispose()


def test_loyalty_files_use_the_vendors_dialect_with_a_few_broken_rows(world: Path) -> None:
    folder = world / "loyalty"
    snapshot = folder / f"jasenet_{TODAY:%Y%m%d}.csv"
    raw = snapshot.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == LOYALTY_HEADER
    purchases = sorted(folder.glob("ostot_*.csv"))
    assert len(purchases) == 90
    assert purchases[-1].name == f"ostot_{TODAY - timedelta(days=1):%Y%m%d}.csv"
    good = broken = 0
    for path in [snapshot, *purchases]:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            table = list(csv.reader(handle, delimiter=";"))
        header, body = table[0], table[1:]
        for line in body:
            if path == snapshot:
                ok = (
                    len(line) == 12
                    and all(FI_DATE.match(line[i]) or not line[i] for i in (3, 7, 11))
                    and _real_date(line[7])
                    and line[9].isdigit()
                    and line[10] in ("K", "E")
                    and line[8] in ("perus", "hopea", "kulta")
                )
            else:
                ok = (
                    header == ["jasennumero", "myymala", "aika", "summa"]
                    and len(line) == 4
                    and FI_TIME.match(line[2]) is not None
                    and _real_date(line[2][:10])
                    and FI_AMOUNT.match(line[3]) is not None
                )
            good += ok
            broken += not ok
    assert good > 1000
    assert 0 < broken < 0.01 * (good + broken)


def _real_date(text: str) -> bool:
    try:
        datetime.strptime(text, "%d.%m.%Y")
    except ValueError:
        return False
    return True


# --- webshop API ------------------------------------------------------------------------------


def test_webshop_pages_cover_all_customers_with_totals(server, world: Path) -> None:
    auth = (server.webshop_key, server.webshop_secret)
    url = f"{server.url}/wp-json/wc/v3/customers"
    first = requests.get(url, params={"per_page": 100, "page": 1, "orderby": "id", "order": "asc"}, auth=auth)
    total, pages = int(first.headers["X-WP-Total"]), int(first.headers["X-WP-TotalPages"])
    assert total == load_meta(world).counts["webshop_customers"]
    assert pages == -(-total // 100)
    seen = [c["id"] for c in first.json()]
    for page in range(2, pages + 1):
        response = requests.get(url, params={"per_page": 100, "page": page, "orderby": "id", "order": "asc"}, auth=auth)
        assert response.status_code == 200
        seen += [c["id"] for c in response.json()]
    assert seen == sorted(set(seen)) and len(seen) == total
    customer = first.json()[0]
    assert {"id", "email", "date_created_gmt", "date_modified_gmt", "billing", "shipping", "meta_data"} <= set(customer)
    assert {m["key"] for m in customer["meta_data"]} >= {"newsletter_opt_in", "newsletter_opt_in_at"}
    assert requests.get(url, params={"per_page": 101}, auth=auth).status_code == 400
    beyond = requests.get(url, params={"per_page": 100, "page": pages + 1}, auth=auth)
    assert beyond.status_code == 200 and beyond.json() == []


def test_webshop_modified_after_is_strict(server, world: Path) -> None:
    stamps = sorted(r[0] for r in rows(world / "webshop.sqlite", "SELECT date_modified_gmt FROM orders"))
    cutoff = stamps[len(stamps) // 2]
    expected = sum(1 for s in stamps if s > cutoff)
    response = requests.get(
        f"{server.url}/wp-json/wc/v3/orders",
        params={"modified_after": cutoff, "per_page": 100},
        auth=(server.webshop_key, server.webshop_secret),
    )
    assert int(response.headers["X-WP-Total"]) == expected
    assert all(order["date_modified_gmt"] > cutoff for order in response.json())
    with_zone = requests.get(
        f"{server.url}/wp-json/wc/v3/orders",
        params={"modified_after": cutoff + "Z"},
        auth=(server.webshop_key, server.webshop_secret),
    )
    assert int(with_zone.headers["X-WP-Total"]) == expected
    guest = requests.get(
        f"{server.url}/wp-json/wc/v3/orders",
        params={"customer": 0, "per_page": 5},
        auth=(server.webshop_key, server.webshop_secret),
    ).json()
    assert guest and all(o["customer_id"] == 0 and o["billing"]["email"] for o in guest)


def test_webshop_refuses_bad_credentials(server) -> None:
    url = f"{server.url}/wp-json/wc/v3/customers"
    assert requests.get(url).status_code == 401
    wrong = requests.get(url, auth=(server.webshop_key, "cs_wrong"))
    assert wrong.status_code == 401 and wrong.json()["code"] == "woocommerce_rest_authentication_error"
    assert (
        requests.get(
            url, params={"consumer_key": server.webshop_key, "consumer_secret": server.webshop_secret}
        ).status_code
        == 200
    )
    signed = OAuth(
        url=f"{url}?per_page=5",
        consumer_key=server.webshop_key,
        consumer_secret=server.webshop_secret,
        version="wc/v3",
        method="GET",
    ).get_oauth_url()
    assert requests.get(signed.replace("per_page=5", "per_page=6")).status_code == 401, "tampered query"
    assert requests.get(signed).status_code == 200
    assert requests.get(signed).status_code == 401, "replayed nonce"
    forged = OAuth(
        url=url, consumer_key=server.webshop_key, consumer_secret="cs_forged", version="wc/v3", method="GET"
    ).get_oauth_url()
    assert requests.get(forged).status_code == 401


def test_official_woocommerce_client_reads_and_writes(writable_world: Path) -> None:
    with running_simulator(writable_world) as endpoints:
        client = woo_client(endpoints)
        listed = client.get("customers", params={"per_page": 20, "page": 1, "orderby": "id", "order": "asc"})
        assert listed.status_code == 200 and len(listed.json()) == 20
        assert int(listed.headers["X-WP-Total"]) == load_meta(writable_world).counts["webshop_customers"]
        orders = client.get("orders", params={"per_page": 10})
        assert orders.status_code == 200 and all("line_items" in o for o in orders.json())
        targets = [c["id"] for c in listed.json()[:3]]
        answer = client.post(
            "customers/batch",
            {
                "update": [
                    {"id": cid, "meta_data": [{"key": "hub_segments", "value": "vip,lapsing"}]} for cid in targets
                ]
            },
        )
        assert answer.status_code == 200
        updated = answer.json()["update"]
        assert [c["id"] for c in updated] == targets
        assert all(
            {"key": "hub_segments", "value": "vip,lapsing"}.items() <= m.items()
            for c in updated
            for m in c["meta_data"]
            if m["key"] == "hub_segments"
        )
        again = client.get(f"customers/{targets[0]}").json()
        assert any(m["key"] == "hub_segments" and m["value"] == "vip,lapsing" for m in again["meta_data"])
        assert again["date_modified_gmt"] == load_meta(writable_world).clock.isoformat()
        too_many = client.post("customers/batch", {"update": [{"id": 1, "meta_data": []}] * 101})
        assert too_many.status_code == 413
    writes = rows(writable_world / "webshop.sqlite", "SELECT method, path, status, body FROM writes ORDER BY id")
    assert [w[:3] for w in writes] == [("POST", "/wp-json/wc/v3/customers/batch", 200)] + [
        ("POST", "/wp-json/wc/v3/customers/batch", 413)
    ]
    assert "hub_segments" in writes[0][3] and "?" not in writes[0][1]


# --- email platform API -----------------------------------------------------------------------


def test_esp_pages_and_since_last_changed(server, world: Path) -> None:
    auth = ("anyone", server.esp_key)
    url = f"{server.esp_url}/lists/{server.esp_list_id}/members"
    total = requests.get(url, params={"count": 1}, auth=auth).json()["total_items"]
    assert total == load_meta(world).counts["esp_members"]
    ids = []
    for offset in range(0, total, 300):
        ids += [
            m["id"] for m in requests.get(url, params={"count": 300, "offset": offset}, auth=auth).json()["members"]
        ]
    assert len(ids) == len(set(ids)) == total
    member = requests.get(url, params={"count": 1}, auth=auth).json()["members"][0]
    assert member["id"] == hashlib.md5(member["email_address"].lower().encode()).hexdigest()
    assert re.match(r"^(\d{2}/\d{2})?$", member["merge_fields"]["BIRTHDAY"])
    assert {p["text"] for p in member["marketing_permissions"]} == {"Email", "Customized Online Advertising"}
    changes = sorted(r[0] for r in rows(world / "esp.sqlite", "SELECT last_changed FROM member"))
    cutoff = changes[int(len(changes) * 0.8)]
    since = requests.get(url, params={"since_last_changed": cutoff, "count": 1000}, auth=auth).json()
    assert since["total_items"] == sum(1 for c in changes if c > cutoff)
    assert all(m["last_changed"] > cutoff for m in since["members"])
    assert requests.get(url, params={"count": 1001}, auth=auth).status_code == 400
    assert requests.get(url, auth=("anyone", "wrong-us1")).status_code == 401
    assert requests.get(url.replace(server.esp_list_id, "nolist"), auth=auth).status_code == 404


def test_esp_campaigns_and_email_activity(server) -> None:
    auth = ("anyone", server.esp_key)
    campaigns = requests.get(f"{server.esp_url}/campaigns", params={"count": 100}, auth=auth).json()
    assert campaigns["total_items"] == 13
    sends = [c["send_time"] for c in campaigns["campaigns"]]
    assert sends == sorted(sends)
    recent = requests.get(f"{server.esp_url}/campaigns", params={"since_send_time": sends[9]}, auth=auth).json()
    assert [c["send_time"] for c in recent["campaigns"]] == sends[10:]
    report = requests.get(
        f"{server.esp_url}/reports/{campaigns['campaigns'][0]['id']}/email-activity", params={"count": 1000}, auth=auth
    ).json()
    actions = Counter(a["action"] for e in report["emails"] for a in e["activity"])
    assert report["total_items"] == len(report["emails"]) > 0
    assert actions["open"] > actions["click"] > 0
    assert all(e["activity"] for e in report["emails"])
    assert requests.get(f"{server.esp_url}/reports/nothing/email-activity", auth=auth).status_code == 404


def test_official_mailchimp_client_lists_tags_and_erases(writable_world: Path) -> None:
    with running_simulator(writable_world) as endpoints:
        client = chimp_client(endpoints)
        page = client.lists.get_list_members_info(endpoints.esp_list_id, count=50, offset=10)
        assert len(page["members"]) == 50
        assert page["total_items"] == load_meta(writable_world).counts["esp_members"]
        target = page["members"][0]
        before = target["last_changed"]
        client.lists.update_list_member_tags(
            endpoints.esp_list_id, target["id"], {"tags": [{"name": "vip", "status": "active"}]}
        )
        tagged = client.lists.get_list_member(endpoints.esp_list_id, target["id"])
        assert "vip" in [t["name"] for t in tagged["tags"]]
        assert tagged["last_changed"] > before
        client.lists.update_list_member_tags(
            endpoints.esp_list_id, target["id"], {"tags": [{"name": "vip", "status": "inactive"}]}
        )
        assert "vip" not in [
            t["name"] for t in client.lists.get_list_member(endpoints.esp_list_id, target["id"])["tags"]
        ]
        erased = page["members"][1]["id"]
        client.lists.delete_list_member_permanent(endpoints.esp_list_id, erased)
        with pytest.raises(mailchimp_marketing.api_client.ApiClientError) as missing:
            client.lists.get_list_member(endpoints.esp_list_id, erased)
        assert missing.value.status_code == 404
        with pytest.raises(mailchimp_marketing.api_client.ApiClientError) as twice:
            client.lists.delete_list_member_permanent(endpoints.esp_list_id, erased)
        assert twice.value.status_code == 404
        after = client.lists.get_list_members_info(endpoints.esp_list_id, count=1)["total_items"]
        assert after == page["total_items"] - 1
    writes = rows(writable_world / "esp.sqlite", "SELECT method, path, status FROM writes ORDER BY id")
    assert [(path.rsplit("/", 1)[-1], status) for _, path, status in writes] == [
        ("tags", 204),
        ("tags", 204),
        ("delete-permanent", 204),
        ("delete-permanent", 404),
    ]
    assert not rows(writable_world / "esp.sqlite", "SELECT 1 FROM activity WHERE member_id = ?", erased)


def test_official_clients_correct_and_delete_through_the_products_endpoints(writable_world: Path) -> None:
    """WooCommerce's batch update/delete and Mailchimp's member PATCH, beyond the contract's subset."""
    with running_simulator(writable_world) as endpoints:
        shop = woo_client(endpoints)
        first, second = shop.get("customers", params={"per_page": 2}).json()
        answer = shop.post(
            "customers/batch",
            {
                "update": [
                    {
                        "id": first["id"],
                        "last_name": second["last_name"],
                        "billing": {"city": second["billing"]["city"]},
                    }
                ],
                "delete": [second["id"], 10**9],
            },
        )
        assert answer.status_code == 200
        updated, deleted = answer.json()["update"], answer.json()["delete"]
        assert updated[0]["last_name"] == second["last_name"]
        assert updated[0]["billing"]["city"] == second["billing"]["city"]
        assert updated[0]["billing"]["address_1"] == first["billing"]["address_1"]
        assert [c["id"] for c in deleted] == [second["id"], 10**9] and deleted[0]["email"] == second["email"]
        assert deleted[1]["error"]["code"] == "woocommerce_rest_invalid_id"
        assert shop.get(f"customers/{second['id']}").status_code == 404
        guest = shop.get("orders", params={"customer": 0, "per_page": 1}).json()[0]["id"]
        assert [o["id"] for o in shop.post("orders/batch", {"delete": [guest]}).json()["delete"]] == [guest]
        assert shop.get(f"orders/{guest}").status_code == 404
        assert shop.post("orders/batch", {"update": [{"id": guest, "status": "completed"}]}).status_code == 400

        chimp = chimp_client(endpoints)
        campaign = chimp.campaigns.list(count=1)["campaigns"][0]["id"]
        active = chimp.reports.get_email_activity_for_campaign(campaign, count=1)["emails"][0]["email_address"]
        target = chimp.lists.get_list_member(endpoints.esp_list_id, hashlib.md5(active.lower().encode()).hexdigest())
        page = chimp.lists.get_list_members_info(endpoints.esp_list_id, count=2)["members"]
        other = next(member for member in page if member["id"] != target["id"])
        new_email = "corrected." + target["email_address"]
        patched = chimp.lists.update_list_member(
            endpoints.esp_list_id,
            target["id"],
            {"email_address": new_email, "merge_fields": {"LNAME": other["merge_fields"]["LNAME"]}},
        )
        assert patched["id"] == hashlib.md5(new_email.lower().encode()).hexdigest()
        assert patched["merge_fields"]["LNAME"] == other["merge_fields"]["LNAME"]
        assert patched["merge_fields"]["FNAME"] == target["merge_fields"]["FNAME"]
        assert chimp.lists.get_list_member(endpoints.esp_list_id, patched["id"]) == patched
        with pytest.raises(mailchimp_marketing.api_client.ApiClientError) as gone:
            chimp.lists.update_list_member(endpoints.esp_list_id, target["id"], {"merge_fields": {"LNAME": ""}})
        assert gone.value.status_code == 404
        with pytest.raises(mailchimp_marketing.api_client.ApiClientError) as taken:
            chimp.lists.update_list_member(
                endpoints.esp_list_id, patched["id"], {"email_address": other["email_address"]}
            )
        assert taken.value.status_code == 400
    shop_writes = rows(writable_world / "webshop.sqlite", "SELECT path, status FROM writes ORDER BY id")
    assert [(path.rsplit("/", 2)[-2], status) for path, status in shop_writes] == [
        ("customers", 200),
        ("orders", 200),
        ("orders", 400),
    ]
    esp_writes = rows(writable_world / "esp.sqlite", "SELECT method, status FROM writes ORDER BY id")
    assert esp_writes == [("PATCH", 200), ("PATCH", 404), ("PATCH", 400)]
    assert not rows(writable_world / "esp.sqlite", "SELECT 1 FROM activity WHERE member_id = ?", target["id"])
    moved = rows(writable_world / "esp.sqlite", "SELECT doc FROM activity WHERE member_id = ?", patched["id"])
    assert moved and all(new_email in doc for (doc,) in moved), "the member's activity follows the new address"


def test_esp_refuses_more_than_ten_requests_in_flight(server) -> None:
    """Ten writes whose bodies never finish arriving hold ten slots; the eleventh request gets 429."""
    host, port = server.url.removeprefix("http://").split(":")
    token = base64.b64encode(f"anyone:{server.esp_key}".encode()).decode()
    url = f"{server.esp_url}/lists/{server.esp_list_id}/members"
    held = []
    try:
        for _ in range(10):
            sock = socket.create_connection((host, int(port)))
            sock.sendall(
                (
                    f"POST /3.0/lists/{server.esp_list_id}/members/{'0' * 32}/tags HTTP/1.1\r\n"
                    f"Host: {host}:{port}\r\nAuthorization: Basic {token}\r\n"
                    "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
                ).encode()
            )
            held.append(sock)
        assert _eventually(lambda: requests.get(url, auth=("anyone", server.esp_key)).status_code == 429)
        busy = requests.get(url, auth=("anyone", server.esp_key))
        assert busy.headers["Retry-After"] == "1"
        webshop = requests.get(
            f"{server.url}/wp-json/wc/v3/customers", auth=(server.webshop_key, server.webshop_secret)
        )
        assert webshop.status_code == 200
    finally:
        for sock in held:
            sock.close()
    assert _eventually(lambda: requests.get(url, auth=("anyone", server.esp_key)).status_code == 200)


def _eventually(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


# --- faults -----------------------------------------------------------------------------------


def test_fault_injection_rate_and_no_effect_on_data(writable_world: Path) -> None:
    before = file_hashes(writable_world)
    statuses: Counter[int] = Counter()
    retry_after = set()
    with running_simulator(writable_world, fault_rate=0.4) as endpoints:
        for i in range(400):
            if i % 2:
                response = requests.get(
                    f"{endpoints.url}/wp-json/wc/v3/customers", auth=(endpoints.webshop_key, endpoints.webshop_secret)
                )
            else:
                response = requests.get(
                    f"{endpoints.esp_url}/lists/{endpoints.esp_list_id}/members", auth=("x", endpoints.esp_key)
                )
            statuses[response.status_code] += 1
            if response.status_code == 429:
                retry_after.add(response.headers.get("Retry-After"))
    faults = sum(n for code, n in statuses.items() if code != 200)
    assert 0.3 < faults / 400 < 0.5
    assert 0.12 < statuses[429] / 400 < 0.28
    assert sum(statuses[code] for code in (500, 502, 503)) / 400 > 0.12
    assert retry_after == {"1"}
    assert file_hashes(writable_world) == before


# --- advancing the clock ----------------------------------------------------------------------


def _stamps(world: Path) -> dict[str, dict[str, str]]:
    return {
        "erp": dict(rows(world / "erp.sqlite", "SELECT customer_no, updated_at FROM customer")),
        "invoice": dict(rows(world / "erp.sqlite", "SELECT invoice_no, updated_at FROM invoice")),
        "customer": {
            str(k): v for k, v in rows(world / "webshop.sqlite", "SELECT id, date_modified_gmt FROM customer")
        },
        "order": {str(k): v for k, v in rows(world / "webshop.sqlite", "SELECT id, date_modified_gmt FROM orders")},
        "member": dict(rows(world / "esp.sqlite", "SELECT id, last_changed FROM member")),
    }


def test_advance_changes_a_subset_and_keeps_other_timestamps(writable_world: Path) -> None:
    old = load_meta(writable_world)
    before = _stamps(writable_world)
    meta = advance(writable_world, days=1)
    after = _stamps(writable_world)
    assert meta.clock == old.clock + timedelta(days=1) and meta.days_advanced == 1
    start, end = old.clock.isoformat(), meta.clock.isoformat()
    total_changed = 0
    for kind, stamps in before.items():
        changed = [key for key, stamp in stamps.items() if after[kind][key] != stamp]
        total_changed += len(changed)
        assert len(changed) < 0.1 * len(stamps), kind
        for key in changed:
            assert start < after[kind][key].replace(" ", "T") <= end, (kind, key)
        for key in set(after[kind]) - set(stamps):
            assert start < after[kind][key].replace(" ", "T") <= end, (kind, key)
    assert total_changed > 0
    assert any(len(after[kind]) > len(before[kind]) for kind in before), "new records"
    assert truth_keys(writable_world) == record_keys(writable_world)
    loyalty = writable_world / "loyalty"
    assert (loyalty / f"jasenet_{meta.clock:%Y%m%d}.csv").exists()
    assert (loyalty / f"ostot_{old.clock:%Y%m%d}.csv").exists()
    campaigns = rows(writable_world / "esp.sqlite", "SELECT send_time FROM campaign ORDER BY send_time")
    assert len(campaigns) == 14 and start < campaigns[-1][0] < end


def test_advance_is_deterministic(world: Path, tmp_path: Path) -> None:
    shutil.copytree(world, tmp_path / "a")
    shutil.copytree(world, tmp_path / "b")
    advance(tmp_path / "a", days=2)
    advance(tmp_path / "b", days=2)
    assert file_hashes(tmp_path / "a") == file_hashes(tmp_path / "b")


def test_redelivered_loyalty_file_is_byte_identical(writable_world: Path) -> None:
    folder = writable_world / "loyalty"
    redelivered = []
    for _ in range(8):
        seen = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.glob("*.csv")}
        advance(writable_world, days=1)
        for name, (content, mtime) in seen.items():
            path = folder / name
            if path.stat().st_mtime_ns != mtime:
                assert path.stat().st_mtime_ns > mtime
                assert path.read_bytes() == content
                redelivered.append(name)
    assert redelivered, "the vendor should re-deliver some file within eight nights"


def test_server_sees_what_advance_changed(writable_world: Path) -> None:
    with running_simulator(writable_world) as endpoints:
        auth = (endpoints.webshop_key, endpoints.webshop_secret)
        url = f"{endpoints.url}/wp-json/wc/v3/customers"
        cutoff = load_meta(writable_world).clock.isoformat()
        assert requests.get(url, params={"modified_after": cutoff}, auth=auth).headers["X-WP-Total"] == "0"
        advance(writable_world, days=1)
        fresh = requests.get(url, params={"modified_after": cutoff, "per_page": 100}, auth=auth)
        assert int(fresh.headers["X-WP-Total"]) > 0
        assert all(c["date_modified_gmt"] > cutoff for c in fresh.json())
