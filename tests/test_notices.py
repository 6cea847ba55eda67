"""Erasure and correction notices to the tools, sent to the simulator over real HTTP and into real folders.

Targets and values are read from the simulated systems themselves; assertions compare them with what
the tools serve afterwards, never with personal literals.
"""

import csv
import hashlib
import io
import json
import sqlite3
from datetime import date
from pathlib import Path

import fsspec
import pytest
import requests

from exports import esp, loyalty, webshop
from exports.http import ToolError
from exports.receipts import Receipt
from hub.simulator import load_meta, running_simulator
from hub.simulator.writes_log import received_writes

TODAY = date(2026, 11, 2)


def woo(sim, path: str, **params) -> requests.Response:
    return requests.get(
        f"{sim.webshop_url}/wp-json/wc/v3/{path}", params=params, auth=(sim.webshop_key, sim.webshop_secret)
    )


def chimp(sim, path: str = "", **params) -> requests.Response:
    return requests.get(f"{sim.esp_url}/lists/{sim.esp_list_id}{path}", params=params, auth=("x", sim.esp_key))


def members(sim, count: int, offset: int = 0) -> list[dict]:
    return chimp(sim, "/members", count=count, offset=offset).json()["members"]


def listed(sim, resource: str) -> dict[int, dict]:
    """Every customer or order the shop lists, by id: the contract has no read of one record."""
    found, page = {}, 1
    while True:
        answer = woo(sim, resource, per_page=100, page=page)
        found.update({item["id"]: item for item in answer.json()})
        if page >= int(answer.headers["X-WP-TotalPages"]):
            return found
        page += 1


def member(sim, member_id: str) -> dict | None:
    """A member as the platform lists it (None when it does not), through the contract's listing."""
    return next((m for m in members(sim, 1000) if m["id"] == member_id), None)


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


def test_erasure_deletes_exactly_the_named_orders_then_the_accounts(simulator, systems_dir: Path):
    shop = (simulator.webshop_url, simulator.webshop_key, simulator.webshop_secret)
    total = int(woo(simulator, "customers").headers["X-WP-Total"])
    orders = webshop.list_orders(*shop, None)
    assert len(orders) == int(woo(simulator, "orders").headers["X-WP-Total"]), "every page is listed"
    owners = list(dict.fromkeys(owner for _, owner in orders if owner))
    owner, keeper = owners[:2]
    owned = [oid for oid, who in orders if who == owner]
    kept = [oid for oid, who in orders if who == keeper]
    guest = next(oid for oid, who in orders if who == 0)

    receipts = webshop.delete_records(*shop, orders=[f"order:{oid}" for oid in owned], accounts=[owner])
    assert [(r.system, r.action, r.target, r.status) for r in receipts] == [
        *(("webshop", "delete", f"order:{oid}", "sent") for oid in owned),
        ("webshop", "delete", str(owner), "sent"),
    ]
    assert owner not in listed(simulator, "customers")
    assert set(listed(simulator, "orders")) == {oid for oid, _ in orders} - set(owned), "nobody else's is touched"

    plain = webshop.delete_records(*shop, accounts=[str(keeper)])
    assert [(r.target, r.status) for r in plain] == [(str(keeper), "sent")]
    clock = load_meta(systems_dir).clock.isoformat()
    remaining = listed(simulator, "orders")
    for oid in kept:
        assert remaining[oid]["customer_id"] == 0, "kept as a guest order"
        assert remaining[oid]["date_modified_gmt"] == clock
    assert int(woo(simulator, "customers").headers["X-WP-Total"]) == total - 2

    deleted = webshop.delete_records(*shop, orders=[f"order:{guest}", *kept])
    assert [(r.target, r.status) for r in deleted] == [(f"order:{oid}", "sent") for oid in [guest, *kept]]
    assert guest not in listed(simulator, "orders")
    again = webshop.delete_records(*shop, orders=[guest], accounts=[owner, "order:5"])
    assert [(r.target, r.status, r.detail) for r in again] == [
        (f"order:{guest}", "absent", "HTTP 200: item error woocommerce_rest_shop_order_invalid_id"),
        ("order:5", "failed", "not a WooCommerce id"),
        (str(owner), "absent", "HTTP 200: item error woocommerce_rest_invalid_id"),
    ], "an order key is never taken for an account id"
    assert_nothing_personal(receipts + plain + deleted + again, simulator.webshop_secret)


def test_an_account_stays_while_one_of_its_orders_could_not_be_deleted(simulator):
    shop = (simulator.webshop_url, simulator.webshop_key, simulator.webshop_secret)
    owner = next(who for _, who in webshop.list_orders(*shop, None) if who)
    receipts = webshop.delete_records(*shop, orders=["not-an-id"], accounts=[owner])
    assert [(r.target, r.status) for r in receipts] == [("not-an-id", "failed"), (str(owner), "failed")]
    assert receipts[1].detail == "kept until the person's orders are deleted"
    assert owner in listed(simulator, "customers")


def test_many_ids_are_sent_in_batches_of_at_most_one_hundred(simulator, systems_dir: Path):
    ids = [c["id"] for page in (1, 2) for c in woo(simulator, "customers", per_page=100, page=page).json()]
    receipts = webshop.delete_records(
        simulator.webshop_url, simulator.webshop_key, simulator.webshop_secret, accounts=[*ids[:120], 10**9]
    )
    assert [r.status for r in receipts] == ["sent"] * 120 + ["absent"]
    assert [w[2] for w in writes(systems_dir / "webshop.sqlite")] == [200, 200]


def test_a_correction_changes_the_merge_fields_and_an_address_is_left_to_a_person(simulator, systems_dir: Path):
    target, donor = members(simulator, 2, offset=10)
    changes = {
        "first_name": donor["merge_fields"]["FNAME"],
        "phone": donor["merge_fields"]["PHONE"],
        "city": "not held by the platform",
    }
    platform = (simulator.esp_url, simulator.esp_key, simulator.esp_list_id)
    receipt = esp.update_member(*platform, target["id"], changes)
    assert (receipt.system, receipt.action, receipt.target, receipt.status) == ("esp", "update", target["id"], "sent")
    served = member(simulator, target["id"])
    assert served["merge_fields"]["FNAME"] == donor["merge_fields"]["FNAME"]
    assert served["merge_fields"]["PHONE"] == donor["merge_fields"]["PHONE"]
    assert served["merge_fields"]["LNAME"] == target["merge_fields"]["LNAME"]
    assert served["last_changed"] == load_meta(systems_dir).clock.isoformat()
    again = esp.update_member(*platform, target["id"], changes)
    assert again.status == "sent" and member(simulator, target["id"]) == served, "sent twice, the same values"

    moved = esp.update_member(*platform, target["id"], {**changes, "email": "corrected." + target["email_address"]})
    assert (moved.status, moved.detail) == ("failed", f"HTTP 200; {esp.ADDRESS_NOT_SENT}")
    only_address = esp.update_member(*platform, target["id"], {"email": "corrected." + target["email_address"]})
    assert (only_address.status, only_address.detail) == ("failed", esp.ADDRESS_NOT_SENT)
    assert member(simulator, target["id"])["email_address"] == target["email_address"]
    sent = [json.loads(w.body) for w in received_writes(systems_dir / "esp.sqlite")]
    assert all(set(body) == {"merge_fields"} for body in sent), "nothing but the contract's merge fields"

    assert esp.update_member(*platform, target["id"], {"city": "x"}) is None
    gone = esp.update_member(*platform, "0" * 32, {"last_name": ""})
    assert gone.status == "absent"
    with pytest.raises(ValueError, match="not hub attributes: firstname"):
        esp.patch_body({"firstname": donor["merge_fields"]["FNAME"]})
    assert_nothing_personal([receipt, again, moved, only_address, gone], simulator.esp_key)


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
    served = listed(simulator, "customers")[target["id"]]
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
    assert again.status == "sent" and listed(simulator, "customers")[target["id"]] == served
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
    assert member(simulator, target) is not None

    customer = woo(simulator, "customers", per_page=1).json()[0]["id"]
    wrong_secret = "cs_" + "0" * 40
    shop = webshop.delete_records(
        simulator.webshop_url, simulator.webshop_key, wrong_secret, orders=[10**9], accounts=[customer]
    )
    shop += (
        webshop.update_customer(simulator.webshop_url, simulator.webshop_key, wrong_secret, customer, {"city": ""}),
    )
    refusal = "HTTP 401: the tool refused the credentials"
    assert [(r.status, r.detail) for r in shop] == [
        ("failed", refusal),
        ("failed", "kept until the person's orders are deleted"),
        ("failed", refusal),
    ]
    with pytest.raises(ToolError, match="orders not listed: HTTP 401"):
        webshop.list_orders(simulator.webshop_url, simulator.webshop_key, wrong_secret, None)
    assert customer in listed(simulator, "customers")
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
    with running_simulator(systems_dir, fault_rate=0.3, strict=True) as flaky:
        ids = [m["id"] for m in until_ok(lambda: chimp(flaky, "/members", count=6)).json()["members"]]
        once = esp.delete_members(flaky.esp_url, flaky.esp_key, flaky.esp_list_id, ids, attempts=1)
        failed = {r.target for r in once if r.status == "failed"}
        assert failed and len(failed) < len(ids), "with a single attempt some writes meet an injected fault"
        settled = esp.delete_members(flaky.esp_url, flaky.esp_key, flaky.esp_list_id, ids)
        assert {r.target: r.status for r in settled} == {
            r.target: "sent" if r.target in failed else "absent" for r in once
        }
        customers = [c["id"] for c in until_ok(lambda: woo(flaky, "customers", per_page=4)).json()]
        deleted = webshop.delete_records(
            flaky.webshop_url, flaky.webshop_key, flaky.webshop_secret, accounts=customers[:2]
        )
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
