"""Erasure and correction notices to the tools, sent to the simulator over real HTTP and into real folders.

Targets and values are read from the simulated systems themselves; assertions compare them with what
the tools serve afterwards, never with personal literals.
"""

import csv
import hashlib
import io
import sqlite3
from datetime import date
from pathlib import Path

import fsspec
import pytest
import requests

from exports import esp, loyalty, webshop
from exports.receipts import Receipt
from hub.simulator import load_meta, running_simulator

TODAY = date(2026, 11, 2)


def woo(sim, path: str, **params) -> requests.Response:
    return requests.get(
        f"{sim.webshop_url}/wp-json/wc/v3/{path}", params=params, auth=(sim.webshop_key, sim.webshop_secret)
    )


def chimp(sim, path: str = "", **params) -> requests.Response:
    return requests.get(f"{sim.esp_url}/lists/{sim.esp_list_id}{path}", params=params, auth=("x", sim.esp_key))


def members(sim, count: int, offset: int = 0) -> list[dict]:
    return chimp(sim, "/members", count=count, offset=offset).json()["members"]


def writes(path: Path) -> list[tuple[str, str, int]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT method, path, status FROM writes ORDER BY id").fetchall()
    finally:
        conn.close()


def assert_nothing_personal(receipts: list[Receipt], *secrets: str) -> None:
    """Neither the target (a person's key in the tool) nor an address nor a secret is in the detail or repr."""
    for receipt in receipts:
        if len(receipt.target) >= 5:  # shorter keys are digits that any status code or time contains
            assert receipt.target not in receipt.detail and receipt.target not in repr(receipt)
        assert "@" not in receipt.detail
        assert not any(secret in receipt.detail for secret in secrets)


def test_erasure_deletes_email_platform_members_and_a_second_one_finds_them_absent(simulator, systems_dir: Path):
    total = chimp(simulator, "/members", count=1).json()["total_items"]
    targets = [m["id"] for m in members(simulator, 3, offset=5)]
    receipts = esp.delete_members(simulator.esp_url, simulator.esp_key, simulator.esp_list_id, targets)
    assert [(r.system, r.action, r.target, r.status) for r in receipts] == [
        ("esp", "delete", t, "sent") for t in targets
    ]
    assert all(r.detail == "HTTP 204" and r.at.tzinfo is not None for r in receipts)
    assert chimp(simulator, "/members", count=1).json()["total_items"] == total - 3
    listed = {m["id"] for m in members(simulator, 1000)}
    assert not listed & set(targets)
    again = esp.delete_members(simulator.esp_url, simulator.esp_key, simulator.esp_list_id, [*targets, targets[0]])
    assert [r.status for r in again] == ["absent"] * 3
    assert all(r.detail.startswith("HTTP 404 Resource Not Found") for r in again)
    assert [status for *_, status in writes(systems_dir / "esp.sqlite")] == [204] * 3 + [404] * 3
    assert_nothing_personal(receipts + again, simulator.esp_key)


def test_erasure_deletes_webshop_accounts_with_their_orders_and_guest_orders(simulator, systems_dir: Path):
    shop = (simulator.webshop_url, simulator.webshop_key, simulator.webshop_secret)
    total = int(woo(simulator, "customers").headers["X-WP-Total"])
    owners = list(dict.fromkeys(o["customer_id"] for o in woo(simulator, "orders", per_page=100).json()))
    owner, keeper = [cid for cid in owners if cid][:2]
    owned, kept = (
        [o["id"] for o in woo(simulator, "orders", customer=c, per_page=100).json()] for c in (owner, keeper)
    )
    guest = woo(simulator, "orders", customer=0, per_page=1).json()[0]["id"]

    receipts = webshop.delete_customers(*shop, [owner])
    assert [(r.system, r.action, r.target, r.status) for r in receipts] == [
        *(("webshop", "delete", f"order:{oid}", "sent") for oid in owned),
        ("webshop", "delete", str(owner), "sent"),
    ]
    assert woo(simulator, f"customers/{owner}").status_code == 404
    assert all(woo(simulator, f"orders/{oid}").status_code == 404 for oid in owned)

    plain = webshop.delete_customers(*shop, [str(keeper)], with_orders=False)
    assert [(r.target, r.status) for r in plain] == [(str(keeper), "sent")]
    clock = load_meta(systems_dir).clock.isoformat()
    for oid in kept:
        order = woo(simulator, f"orders/{oid}").json()
        assert order["customer_id"] == 0 and order["date_modified_gmt"] == clock, "kept as a guest order"
    assert int(woo(simulator, "customers").headers["X-WP-Total"]) == total - 2

    orders = webshop.delete_orders(*shop, [f"order:{guest}", *kept])
    assert [(r.target, r.status) for r in orders] == [(f"order:{oid}", "sent") for oid in [guest, *kept]]
    assert woo(simulator, f"orders/{guest}").status_code == 404
    again = webshop.delete_orders(*shop, [guest])
    assert [(r.status, r.detail) for r in again] == [
        ("absent", "HTTP 200: item error woocommerce_rest_shop_order_invalid_id")
    ]
    again += webshop.delete_customers(*shop, [owner])
    assert [(r.status, r.detail) for r in again[1:]] == [("absent", "HTTP 200: item error woocommerce_rest_invalid_id")]
    assert_nothing_personal(receipts + plain + orders + again, simulator.webshop_secret)


def test_many_ids_are_sent_in_batches_of_at_most_one_hundred(simulator, systems_dir: Path):
    ids = [c["id"] for page in (1, 2) for c in woo(simulator, "customers", per_page=100, page=page).json()]
    receipts = webshop.delete_customers(
        simulator.webshop_url, simulator.webshop_key, simulator.webshop_secret, [*ids[:120], 10**9], with_orders=False
    )
    assert [r.status for r in receipts] == ["sent"] * 120 + ["absent"]
    assert [w[2] for w in writes(systems_dir / "webshop.sqlite")] == [200, 200]


def test_a_correction_changes_what_the_email_platform_serves_and_can_be_sent_again(simulator, systems_dir: Path):
    target, donor = members(simulator, 2, offset=10)
    new_email = "corrected." + target["email_address"]
    changes = {
        "first_name": donor["merge_fields"]["FNAME"],
        "phone": donor["merge_fields"]["PHONE"],
        "email": new_email,
        "city": "not held by the platform",
    }
    receipt = esp.update_member(simulator.esp_url, simulator.esp_key, simulator.esp_list_id, target["id"], changes)
    assert (receipt.system, receipt.action, receipt.target, receipt.status) == ("esp", "update", target["id"], "sent")
    assert chimp(simulator, f"/members/{target['id']}").status_code == 404
    moved = chimp(simulator, f"/members/{esp.subscriber_hash(new_email)}").json()
    assert moved["email_address"] == new_email
    assert moved["merge_fields"]["FNAME"] == donor["merge_fields"]["FNAME"]
    assert moved["merge_fields"]["PHONE"] == donor["merge_fields"]["PHONE"]
    assert moved["merge_fields"]["LNAME"] == target["merge_fields"]["LNAME"]
    assert moved["last_changed"] == load_meta(systems_dir).clock.isoformat()
    since = chimp(simulator, "/members", since_last_changed=target["last_changed"], count=1000).json()["members"]
    assert moved["id"] in {m["id"] for m in since}

    again = esp.update_member(simulator.esp_url, simulator.esp_key, simulator.esp_list_id, target["id"], changes)
    assert again.status == "sent" and "already done" in again.detail
    assert chimp(simulator, f"/members/{moved['id']}").json() == moved
    assert (
        esp.update_member(simulator.esp_url, simulator.esp_key, simulator.esp_list_id, moved["id"], {"city": "x"})
        is None
    )
    gone = esp.update_member(simulator.esp_url, simulator.esp_key, simulator.esp_list_id, "0" * 32, {"last_name": ""})
    assert gone.status == "absent"
    with pytest.raises(ValueError, match="not hub attributes: firstname"):
        esp.patch_body({"firstname": donor["merge_fields"]["FNAME"]})
    assert_nothing_personal([receipt, again, gone], simulator.esp_key)


def test_a_correction_changes_what_the_webshop_serves(simulator, systems_dir: Path):
    target, donor = woo(simulator, "customers", per_page=2, page=3).json()
    changes = {
        "last_name": donor["last_name"],
        "email": "corrected." + target["email"],
        "street": donor["billing"]["address_1"],
        "postal_code": donor["billing"]["postcode"],
        "city": donor["billing"]["city"],
        "birth_date": date(1980, 1, 2),
    }
    receipt = webshop.update_customer(
        simulator.webshop_url, simulator.webshop_key, simulator.webshop_secret, target["id"], changes
    )
    assert (receipt.system, receipt.action, receipt.target, receipt.status, receipt.detail) == (
        "webshop",
        "update",
        str(target["id"]),
        "sent",
        "HTTP 200",
    )
    served = woo(simulator, f"customers/{target['id']}").json()
    assert served["last_name"] == served["billing"]["last_name"] == donor["last_name"]
    assert served["email"] == served["billing"]["email"] == changes["email"]
    assert (served["billing"]["address_1"], served["billing"]["postcode"], served["billing"]["city"]) == (
        donor["billing"]["address_1"],
        donor["billing"]["postcode"],
        donor["billing"]["city"],
    )
    assert served["billing"]["address_2"] == "" and served["first_name"] == target["first_name"]
    assert served["shipping"] == target["shipping"] and served["meta_data"] == target["meta_data"]
    clock = load_meta(systems_dir).clock.isoformat()
    assert served["date_modified_gmt"] == clock
    fresh = woo(simulator, "customers", modified_after=target["date_modified_gmt"], per_page=100).json()
    assert target["id"] in {c["id"] for c in fresh}

    again = webshop.update_customer(
        simulator.webshop_url, simulator.webshop_key, simulator.webshop_secret, target["id"], changes
    )
    assert again.status == "sent" and woo(simulator, f"customers/{target['id']}").json() == served
    taken = webshop.update_customer(
        simulator.webshop_url, simulator.webshop_key, simulator.webshop_secret, donor["id"], {"email": served["email"]}
    )
    assert (taken.status, taken.detail) == ("failed", "HTTP 200: item error existing_user_email")
    missing = webshop.update_customer(
        simulator.webshop_url, simulator.webshop_key, simulator.webshop_secret, 10**9, {"city": donor["last_name"]}
    )
    assert missing.status == "absent"
    assert webshop.update_customer(simulator.webshop_url, "k", "s", target["id"], {"birth_date": None}) is None
    assert_nothing_personal([receipt, again, taken, missing], simulator.webshop_secret)


def _loyalty_members(systems_dir: Path) -> list[list[str]]:
    snapshot = max((systems_dir / "loyalty").glob("jasenet_*.csv"))
    with snapshot.open(encoding="utf-8-sig", newline="") as handle:
        return [row for row in csv.reader(handle, delimiter=";")][1:]


def _notice(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    text = content.decode("utf-8-sig")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_loyalty_notices_merge_into_the_days_file_once_per_member(systems_dir: Path, tmp_path: Path):
    rows = _loyalty_members(systems_dir)
    numbers = [row[0] for row in rows[:3]]
    inbox = tmp_path / "inbox"
    first = loyalty.erasure_notice(str(inbox), numbers[:2], "DSR-1", TODAY)
    second = loyalty.erasure_notice(str(inbox), [numbers[1], numbers[2], numbers[1]], "DSR-2", TODAY)
    third = loyalty.erasure_notice(str(inbox), numbers[1:], "DSR-2", TODAY)
    path = inbox / f"poistot_{TODAY:%Y%m%d}.csv"
    table = _notice(path.read_bytes())
    assert table[0] == ["jasennumero", "pyynto"]
    assert sorted(row[0] for row in table[1:]) == sorted(numbers)
    assert [row[1] for row in table[1:]] == ["DSR-1", "DSR-2", "DSR-2"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert [(r.system, r.action, r.status) for r in first + second + third] == [("loyalty", "delete", "sent")] * 6
    assert [r.target for r in second] == numbers[1:]
    assert {r.detail for r in second + third} == {f"{path.name} sha256={digest}"}
    assert not [p for p in inbox.iterdir() if p != path], "no temporary file left"

    donor = rows[5]
    changes = {"first_name": donor[1], "postal_code": donor[6], "city": "not held by the vendor"}
    correction = loyalty.correction_notice(str(inbox), numbers[0], changes, "DSR-3", TODAY)
    repeat = loyalty.correction_notice(str(inbox), numbers[0], changes, "DSR-3", TODAY)
    corrections = _notice((inbox / f"korjaukset_{TODAY:%Y%m%d}.csv").read_bytes())
    assert corrections == [
        ["jasennumero", "kentta", "arvo", "pyynto"],
        [numbers[0], "etunimi", donor[1], "DSR-3"],
        [numbers[0], "postinumero", donor[6], "DSR-3"],
    ]
    assert correction.status == repeat.status == "sent" and correction.detail == repeat.detail
    assert loyalty.correction_notice(str(inbox), numbers[0], {"street": donor[1]}, "DSR-3", TODAY) is None
    assert_nothing_personal(first + second + third + [correction, repeat])


def test_loyalty_notices_go_to_an_object_store_url_and_a_foreign_file_is_not_overwritten(systems_dir: Path):
    numbers = [row[0] for row in _loyalty_members(systems_dir)[:2]]
    inbox = "memory://vendor-inbox"
    receipts = loyalty.erasure_notice(inbox, numbers, "DSR-9", TODAY)
    fs = fsspec.filesystem("memory")
    name = f"poistot_{TODAY:%Y%m%d}.csv"
    content = fs.cat_file(f"/vendor-inbox/{name}")
    assert [row[0] for row in _notice(content)[1:]] == numbers
    assert {r.detail for r in receipts} == {f"{name} sha256={hashlib.sha256(content).hexdigest()}"}
    fs.pipe_file(f"/vendor-inbox/{name}", b"something else\r\n")
    refused = loyalty.erasure_notice(inbox, numbers, "DSR-9", TODAY)
    assert {(r.status, r.detail) for r in refused} == {("failed", f"not written: {name} (ValueError)")}
    assert fs.cat_file(f"/vendor-inbox/{name}") == b"something else\r\n"
    fs.rm("/vendor-inbox", recursive=True)


def test_refused_credentials_and_a_wrong_audience_fail_without_the_secret(simulator):
    target = members(simulator, 1)[0]["id"]
    wrong_key = "f" * 32 + "-us1"
    refused = esp.delete_members(simulator.esp_url, wrong_key, simulator.esp_list_id, [target, "0" * 32])
    assert [r.status for r in refused] == ["failed", "failed"]
    assert "HTTP 401" in refused[0].detail
    elsewhere = esp.delete_members(simulator.esp_url, simulator.esp_key, "nolist", [target])
    assert [r.status for r in elsewhere] == ["failed"], "a 404 for the audience is no proof of erasure"
    patch = esp.update_member(simulator.esp_url, wrong_key, simulator.esp_list_id, target, {"last_name": ""})
    assert patch.status == "failed"
    assert chimp(simulator, f"/members/{target}").status_code == 200

    customer = woo(simulator, "customers", per_page=1).json()[0]["id"]
    wrong_secret = "cs_" + "0" * 40
    shop = webshop.delete_customers(simulator.webshop_url, simulator.webshop_key, wrong_secret, [customer, 10**9])
    shop += webshop.delete_orders(simulator.webshop_url, simulator.webshop_key, wrong_secret, [10**9])
    shop += (
        webshop.update_customer(simulator.webshop_url, simulator.webshop_key, wrong_secret, customer, {"city": ""}),
    )
    refusal = "HTTP 401: the tool refused the credentials"
    assert [(r.status, r.detail) for r in shop] == [
        ("failed", f"orders not listed: {refusal}"),
        ("failed", f"not sent: {refusal}"),
        ("failed", refusal),
        ("failed", refusal),
    ]
    assert woo(simulator, f"customers/{customer}").status_code == 200
    unreachable = esp.delete_members("http://127.0.0.1:9/3.0", simulator.esp_key, "x", [target], attempts=1)
    assert unreachable[0].status == "failed" and "ConnectionError" in unreachable[0].detail
    assert_nothing_personal(refused + elsewhere + [patch] + shop, wrong_key, wrong_secret, simulator.esp_key)


def until_ok(call) -> requests.Response:
    """The test's own reads of a faulty simulator, tried until one gets through."""
    for _ in range(30):
        answer = call()
        if answer.status_code == 200:
            return answer
    raise AssertionError("the simulator never answered")


def test_transient_faults_on_writes_are_retried_until_every_notice_is_settled(systems_dir: Path):
    with running_simulator(systems_dir, fault_rate=0.3) as flaky:
        ids = [m["id"] for m in until_ok(lambda: chimp(flaky, "/members", count=6)).json()["members"]]
        once = esp.delete_members(flaky.esp_url, flaky.esp_key, flaky.esp_list_id, ids, attempts=1)
        failed = {r.target for r in once if r.status == "failed"}
        assert failed and len(failed) < len(ids), "with a single attempt some writes meet an injected fault"
        settled = esp.delete_members(flaky.esp_url, flaky.esp_key, flaky.esp_list_id, ids)
        assert {r.target: r.status for r in settled} == {
            r.target: "sent" if r.target in failed else "absent" for r in once
        }
        customers = [c["id"] for c in until_ok(lambda: woo(flaky, "customers", per_page=4)).json()]
        deleted = webshop.delete_customers(flaky.webshop_url, flaky.webshop_key, flaky.webshop_secret, customers[:2])
        corrected = [
            webshop.update_customer(
                flaky.webshop_url, flaky.webshop_key, flaky.webshop_secret, cid, {"postal_code": f"{cid:05d}"}
            )
            for cid in customers[2:]
        ]
    assert [r.target for r in deleted if not r.target.startswith("order:")] == [str(c) for c in customers[:2]]
    assert {r.status for r in deleted + corrected} == {"sent"} and len(corrected) == 2
    statuses = [status for *_, status in writes(systems_dir / "webshop.sqlite")]
    assert statuses and set(statuses) == {200}, "a fault is answered before the request reaches the data"
