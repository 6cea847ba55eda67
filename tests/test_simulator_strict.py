"""The simulator's strict mode: the contract page (shared/reference-systems.md) and nothing else.

Every call the page names works; every other route answers 404 in the product's error shape; query
parameters the page does not name are ignored (the full listing is answered); documents carry only
the page's fields. The official clients still work against it for the contracted calls.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import time
from collections import Counter
from pathlib import Path

import mailchimp_marketing
import pytest
import requests
from woocommerce import API
from woocommerce.oauth import OAuth

from hub.simulator import create_app, esp, load_meta, running_simulator, webshop
from hub.simulator.writes_log import received_writes

WOO = "/wp-json/wc/v3"
CONTRACTED_ROUTES = {
    ("GET", WOO + "/customers"),
    ("GET", WOO + "/orders"),
    ("POST", WOO + "/customers/batch"),
    ("POST", WOO + "/orders/batch"),
    ("GET", "/3.0/lists/{audience}/members"),
    ("GET", "/3.0/campaigns"),
    ("GET", "/3.0/reports/{campaign}/email-activity"),
    ("POST", "/3.0/lists/{audience}/members/{member}/tags"),
    ("POST", "/3.0/lists/{audience}/members/{member}/actions/delete-permanent"),
    ("PATCH", "/3.0/lists/{audience}/members/{member}"),
}
ADDRESS = {"first_name", "last_name", "address_1", "address_2", "city", "postcode", "country"}
BILLING = ADDRESS | {"email", "phone"}
CUSTOMER = {"id", "date_created_gmt", "date_modified_gmt", "email", "first_name", "last_name"}
CUSTOMER |= {"billing", "shipping", "meta_data"}
ORDER = {"id", "customer_id", "status", "currency", "total", "date_created_gmt", "date_modified_gmt"}
ORDER |= {"billing", "line_items"}
MEMBER = {"id", "email_address", "status", "merge_fields", "timestamp_opt", "last_changed", "ip_opt"}
MEMBER |= {"marketing_permissions", "tags"}


@pytest.fixture(scope="module")
def shared_systems(pristine_systems: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's own copy of the pristine systems: writes to routes not served are logged in it."""
    copy = tmp_path_factory.mktemp("strict") / "systems"
    shutil.copytree(pristine_systems, copy)
    return copy


@pytest.fixture(scope="module")
def strict(shared_systems: Path):
    """A strict simulator shared by the tests that change no data."""
    with running_simulator(shared_systems, strict=True) as sim:
        yield sim


@pytest.fixture
def strict_writable(systems_dir: Path):
    with running_simulator(systems_dir, strict=True) as sim:
        yield sim


def woo(sim, method: str, path: str, **params) -> requests.Response:
    return requests.request(method, sim.url + WOO + path, params=params, auth=(sim.webshop_key, sim.webshop_secret))


def woo_batch(sim, resource: str, body: dict) -> requests.Response:
    auth = (sim.webshop_key, sim.webshop_secret)
    return requests.post(f"{sim.url}{WOO}/{resource}/batch", json=body, auth=auth)


def chimp(sim, method: str, path: str, body: dict | None = None, **params) -> requests.Response:
    path = path.replace("{list}", sim.esp_list_id)
    return requests.request(method, sim.esp_url + path, params=params, json=body, auth=("hub", sim.esp_key))


def everything(sim, resource: str) -> list[dict]:
    listed, page = [], 1
    while batch := woo(sim, "GET", f"/{resource}", per_page=100, page=page).json():
        listed += batch
        page += 1
    return listed


def woo_client(sim) -> API:
    return API(url=sim.webshop_url, consumer_key=sim.webshop_key, consumer_secret=sim.webshop_secret, version="wc/v3")


def chimp_client(sim) -> mailchimp_marketing.Client:
    client = mailchimp_marketing.Client()
    client.set_config({"api_key": sim.esp_key})
    client.api_client.host = sim.esp_url
    return client


def writes(systems: Path, file: str) -> list[tuple[str, str, int]]:
    return [(w.method, w.path, w.status) for w in received_writes(systems / file)]


# --- what is served ---------------------------------------------------------------------------


def test_strict_app_has_exactly_the_contracted_routes(pristine_systems: Path) -> None:
    def routes(strict: bool) -> set[tuple[str, str]]:
        paths = create_app(pristine_systems, strict=strict).openapi()["paths"]
        return {(method.upper(), path) for path, operations in paths.items() for method in operations} - {
            ("GET", "/health")
        }

    assert routes(strict=True) == CONTRACTED_ROUTES
    assert routes(strict=False) > CONTRACTED_ROUTES


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/customers/1"),
        ("GET", "/orders/1"),
        ("GET", "/customers/batch"),
        ("POST", "/customers"),
        ("PUT", "/customers/1"),
        ("DELETE", "/customers/1"),
        ("DELETE", "/orders/1"),
        ("GET", "/products"),
        ("GET", "/system_status"),
    ],
)
def test_strict_webshop_answers_rest_no_route_for_anything_else(strict, method: str, path: str) -> None:
    answer = woo(strict, method, path)
    assert answer.status_code == 404
    assert answer.json() == {
        "code": "rest_no_route",
        "message": "No route was found matching the URL and request method.",
        "data": {"status": 404},
    }


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/lists/{list}"),
        ("GET", "/lists/{list}/members/" + "0" * 32),
        ("GET", "/lists/{list}/members/" + "0" * 32 + "/tags"),
        ("POST", "/lists/{list}/members"),
        ("PUT", "/lists/{list}/members/" + "0" * 32),
        ("DELETE", "/lists/{list}/members/" + "0" * 32),
        ("POST", "/lists/{list}"),
        ("POST", "/batches"),
        ("GET", "/search-members"),
        ("GET", "/ping"),
        ("GET", "/"),
        ("GET", "/campaigns/x"),
    ],
)
def test_strict_email_platform_answers_404_problems_for_anything_else(strict, method: str, path: str) -> None:
    answer = chimp(strict, method, path, query="someone@example.com")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["title"] == "Resource Not Found" and answer.json()["status"] == 404


def test_writes_to_routes_not_served_are_logged_with_their_404(strict_writable, systems_dir: Path) -> None:
    assert woo(strict_writable, "DELETE", "/customers/1", force="true").status_code == 404
    assert chimp(strict_writable, "POST", "/batches", {"operations": []}).status_code == 404
    assert chimp(strict_writable, "GET", "/lists/{list}").status_code == 404, "reads are not logged"
    assert writes(systems_dir, webshop.FILE) == [("DELETE", WOO + "/customers/1", 404)]
    (logged,) = received_writes(systems_dir / esp.FILE)
    assert (logged.method, logged.path, logged.status, json.loads(logged.body)) == (
        "POST",
        "/3.0/batches",
        404,
        {"operations": []},
    )


# --- webshop reads ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resource,ignored",
    [
        ("customers", {"email": "x@example.com"}),
        ("customers", {"search": "a"}),
        ("customers", {"include": "1,2"}),
        ("customers", {"role": "administrator"}),
        ("customers", {"modified_before": "2000-01-01T00:00:00"}),
        ("orders", {"customer": "0"}),
        ("orders", {"customer": "1"}),
        ("orders", {"status": "cancelled"}),
        ("orders", {"include": "1"}),
        ("orders", {"product": "1"}),
    ],
)
def test_strict_webshop_ignores_parameters_the_contract_does_not_name(strict, resource: str, ignored: dict) -> None:
    plain = woo(strict, "GET", f"/{resource}", per_page=50)
    filtered = woo(strict, "GET", f"/{resource}", per_page=50, **ignored)
    assert filtered.status_code == 200
    assert filtered.headers["X-WP-Total"] == plain.headers["X-WP-Total"]
    assert [r["id"] for r in filtered.json()] == [r["id"] for r in plain.json()]


def test_orders_of_one_customer_are_all_orders_in_strict_mode_and_filtered_otherwise(systems_dir: Path) -> None:
    """The hub's old `orders?customer=<id>` call: the page names no such filter, so strictly it lists every order."""
    with running_simulator(systems_dir) as lenient, running_simulator(systems_dir, strict=True) as strict:
        one = next(o["customer_id"] for o in woo(lenient, "GET", "/orders", per_page=100).json() if o["customer_id"])
        total = int(woo(strict, "GET", "/orders").headers["X-WP-Total"])
        assert int(woo(lenient, "GET", "/orders", customer=one).headers["X-WP-Total"]) < total
        assert int(woo(strict, "GET", "/orders", customer=one).headers["X-WP-Total"]) == total
        signed = OAuth(
            url=f"{strict.url}{WOO}/orders?customer={one}&per_page=5",
            consumer_key=strict.webshop_key,
            consumer_secret=strict.webshop_secret,
            version="wc/v3",
            method="GET",
        ).get_oauth_url()
        assert int(requests.get(signed).headers["X-WP-Total"]) == total, "signed over the ignored parameter too"


def test_strict_webshop_pages_filters_and_orders_as_the_contract_says(strict, shared_systems: Path) -> None:
    customers = everything(strict, "customers")
    counts = load_meta(shared_systems).counts
    assert len(customers) == len({c["id"] for c in customers}) == counts["webshop_customers"]
    assert [c["id"] for c in customers] == sorted(c["id"] for c in customers)
    first = woo(strict, "GET", "/customers", page=1, per_page=7, orderby="id", order="asc")
    assert first.headers["X-WP-TotalPages"] == str(-(-len(customers) // 7)) and "Link" not in first.headers
    assert [c["id"] for c in first.json()] == [c["id"] for c in customers[:7]]
    backwards = woo(strict, "GET", "/customers", per_page=7, order="desc").json()
    assert [c["id"] for c in backwards] == [c["id"] for c in customers[::-1][:7]]
    cutoff = sorted(c["date_modified_gmt"] for c in customers)[len(customers) // 2]
    later = woo(strict, "GET", "/customers", per_page=100, modified_after=cutoff).json()
    assert {c["id"] for c in later} == {c["id"] for c in customers if c["date_modified_gmt"] > cutoff}
    assert woo(strict, "GET", "/customers", per_page=101).status_code == 400
    assert woo(strict, "GET", "/customers", orderby="registered_date").status_code == 400
    assert woo(strict, "GET", "/orders", per_page=100).headers["X-WP-Total"] == str(counts["webshop_orders"])


def test_strict_webshop_documents_have_only_the_contracted_fields(strict) -> None:
    customer = woo(strict, "GET", "/customers", per_page=1).json()[0]
    assert set(customer) == CUSTOMER
    assert set(customer["billing"]) == BILLING and set(customer["shipping"]) == ADDRESS
    assert {m["key"] for m in customer["meta_data"]} == {"newsletter_opt_in", "newsletter_opt_in_at"}
    assert all(set(m) == {"key", "value"} for m in customer["meta_data"])
    order = woo(strict, "GET", "/orders", per_page=1).json()[0]
    assert set(order) == ORDER and set(order["billing"]) == BILLING
    assert all(set(item) == {"product_id", "name", "quantity", "total"} for item in order["line_items"])


def test_strict_webshop_authenticates_in_the_three_ways(strict) -> None:
    url = f"{strict.url}{WOO}/customers"
    assert requests.get(url).status_code == 401
    assert requests.get(url, auth=(strict.webshop_key, "cs_wrong")).status_code == 401
    keys = {"consumer_key": strict.webshop_key, "consumer_secret": strict.webshop_secret}
    assert requests.get(url, params=keys).status_code == 200
    signed = OAuth(
        url=url, consumer_key=strict.webshop_key, consumer_secret=strict.webshop_secret, version="wc/v3", method="GET"
    ).get_oauth_url()
    assert requests.get(signed).status_code == 200


# --- webshop writes ---------------------------------------------------------------------------


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_hub_segments_written_by_batch_show_in_the_listing_as_modified(systems_dir: Path, strict: bool) -> None:
    clock = load_meta(systems_dir).clock.isoformat(timespec="seconds")
    with running_simulator(systems_dir, strict=strict) as sim:
        target = woo(sim, "GET", "/customers", per_page=5).json()[2]
        assert target["date_modified_gmt"] < clock
        segments = {"update": [{"id": target["id"], "meta_data": [{"key": "hub_segments", "value": "vip,lapsing"}]}]}
        answer = woo_batch(sim, "customers", segments)
        assert answer.status_code == 200
        assert answer.json()["update"][0]["date_modified_gmt"] == clock
        since = woo(sim, "GET", "/customers", per_page=100, modified_after=target["date_modified_gmt"]).json()
        listed = next(c for c in since if c["id"] == target["id"])
        assert listed["date_modified_gmt"] == clock
        meta = {m["key"]: m["value"] for m in listed["meta_data"]}
        assert meta["hub_segments"] == "vip,lapsing" and "newsletter_opt_in" in meta
        again = {"update": [{"id": target["id"], "meta_data": [{"key": "hub_segments", "value": "vip"}]}]}
        woo_batch(sim, "customers", again)
        listed = next(c for c in everything(sim, "customers") if c["id"] == target["id"])
        assert [m["value"] for m in listed["meta_data"] if m["key"] == "hub_segments"] == ["vip"]


def test_strict_customer_batch_corrects_fields_and_deletes(strict_writable, systems_dir: Path) -> None:
    sim = strict_writable
    first, second, third = woo(sim, "GET", "/customers", per_page=3).json()
    correction = {
        "id": first["id"],
        "email": "corrected.address@example.com",
        "first_name": "Aino",
        "last_name": "Korjattu",
        "billing": {"city": "Oulu", "phone": "+358401234567"},
    }
    answer = woo_batch(
        sim, "customers", {"update": [correction, {"id": second["id"], "email": third["email"]}, {"id": 10**9}]}
    )
    corrected, taken, unknown = answer.json()["update"]
    assert set(corrected) == CUSTOMER
    assert (corrected["email"], corrected["first_name"], corrected["last_name"]) == (
        "corrected.address@example.com",
        "Aino",
        "Korjattu",
    )
    assert corrected["billing"] | {"city": "Oulu", "phone": "+358401234567"} == corrected["billing"]
    assert corrected["billing"]["address_1"] == first["billing"]["address_1"]
    assert taken == {
        "id": second["id"],
        "error": {
            "code": "existing_user_email",
            "message": "Sorry, that email address is already used!",
            "data": {"status": 400},
        },
    }
    assert unknown["id"] == 10**9 and unknown["error"]["code"] == "woocommerce_rest_invalid_id"
    assert next(c for c in everything(sim, "customers") if c["id"] == first["id"]) == corrected

    deleted = woo_batch(sim, "customers", {"delete": [third["id"], 10**9]}).json()["delete"]
    assert deleted[0] == third and deleted[1]["error"]["code"] == "woocommerce_rest_invalid_id"
    assert third["id"] not in {c["id"] for c in everything(sim, "customers")}
    assert woo_batch(sim, "customers", {"create": [{"email": "new@example.com"}]}).status_code == 400
    too_many = woo_batch(sim, "customers", {"update": [{"id": first["id"]}] * 101})
    assert too_many.status_code == 413 and too_many.json()["code"] == "woocommerce_rest_request_entity_too_large"
    assert writes(systems_dir, webshop.FILE) == [
        ("POST", WOO + "/customers/batch", 200),
        ("POST", WOO + "/customers/batch", 200),
        ("POST", WOO + "/customers/batch", 400),
        ("POST", WOO + "/customers/batch", 413),
    ]


def test_strict_order_batch_deletes_and_refuses_updates(strict_writable, systems_dir: Path) -> None:
    sim = strict_writable
    before = everything(sim, "orders")
    doomed = before[:2]
    answer = woo_batch(sim, "orders", {"delete": [o["id"] for o in doomed] + [10**9]})
    assert answer.status_code == 200
    gone, missing = answer.json()["delete"][:2], answer.json()["delete"][2]
    assert gone == doomed
    assert missing == {
        "id": 10**9,
        "error": {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID.", "data": {"status": 404}},
    }
    assert [o["id"] for o in everything(sim, "orders")] == [o["id"] for o in before[2:]]
    assert woo_batch(sim, "orders", {"update": [{"id": before[2]["id"], "status": "completed"}]}).status_code == 400
    assert [status for *_, status in writes(systems_dir, webshop.FILE)] == [200, 400]


# --- email platform ---------------------------------------------------------------------------


ALL_MEMBERS = {"count": 1000}


@pytest.mark.parametrize(
    "path,contracted,ignored",
    [
        ("/lists/{list}/members", ALL_MEMBERS, {"status": "subscribed"}),
        ("/lists/{list}/members", ALL_MEMBERS, {"email_address": "x@example.com"}),
        ("/lists/{list}/members", ALL_MEMBERS, {"since_timestamp_opt": "2100-01-01T00:00:00"}),
        ("/lists/{list}/members", ALL_MEMBERS, {"fields": "members.id"}),
        ("/campaigns", {}, {"count": "1"}),
        ("/campaigns", {}, {"offset": "5"}),
        ("/campaigns", {}, {"status": "save"}),
    ],
)
def test_strict_email_platform_ignores_parameters_the_contract_does_not_name(
    strict, path: str, contracted: dict, ignored: dict
) -> None:
    plain = chimp(strict, "GET", path, **contracted)
    filtered = chimp(strict, "GET", path, **contracted, **ignored)
    assert filtered.status_code == 200
    assert filtered.json() == plain.json()


def test_strict_members_page_and_filter_as_the_contract_says(strict, shared_systems: Path) -> None:
    total = load_meta(shared_systems).counts["esp_members"]
    whole = chimp(strict, "GET", "/lists/{list}/members", count=1000).json()
    assert set(whole) == {"members", "total_items"} and whole["total_items"] == total == len(whole["members"])
    assert all(set(m) == MEMBER for m in whole["members"])
    member = whole["members"][0]
    assert set(member["merge_fields"]) == {"FNAME", "LNAME", "PHONE", "BIRTHDAY"}
    assert all(set(p) == {"marketing_permission_id", "text", "enabled"} for p in member["marketing_permissions"])
    pages = [chimp(strict, "GET", "/lists/{list}/members", count=40, offset=k).json() for k in range(0, total, 40)]
    assert [m["id"] for page in pages for m in page["members"]] == [m["id"] for m in whole["members"]]
    assert len(chimp(strict, "GET", "/lists/{list}/members").json()["members"]) == min(10, total)
    cutoff = sorted(m["last_changed"] for m in whole["members"])[total // 2]
    since = chimp(strict, "GET", "/lists/{list}/members", count=1000, since_last_changed=cutoff).json()
    assert {m["id"] for m in since["members"]} == {m["id"] for m in whole["members"] if m["last_changed"] > cutoff}
    assert chimp(strict, "GET", "/lists/{list}/members", count=1001).status_code == 400
    assert requests.get(f"{strict.esp_url}/lists/{strict.esp_list_id}/members", auth=("a", "no-us1")).status_code == 401
    assert chimp(strict, "GET", "/lists/other/members").status_code == 404


def test_strict_campaigns_and_email_activity(strict) -> None:
    campaigns = chimp(strict, "GET", "/campaigns").json()
    assert set(campaigns) == {"campaigns", "total_items"}
    assert campaigns["total_items"] == len(campaigns["campaigns"]) > 10, "all of them: the page names no paging"
    assert all(set(c) == {"id", "send_time"} for c in campaigns["campaigns"])
    sends = [c["send_time"] for c in campaigns["campaigns"]]
    later = chimp(strict, "GET", "/campaigns", since_send_time=sends[5]).json()
    assert [c["send_time"] for c in later["campaigns"]] == sends[6:] and later["total_items"] == len(sends) - 6
    report_path = f"/reports/{campaigns['campaigns'][0]['id']}/email-activity"
    report = chimp(strict, "GET", report_path, count=1000).json()
    assert set(report) == {"emails", "total_items"} and report["total_items"] == len(report["emails"]) > 3
    assert all(set(e) == {"email_address", "activity"} for e in report["emails"])
    assert {a["action"] for e in report["emails"] for a in e["activity"]} <= {"open", "click", "bounce"}
    assert all(set(a) == {"action", "timestamp"} for e in report["emails"] for a in e["activity"])
    second = chimp(strict, "GET", report_path, count=2, offset=1).json()["emails"]
    assert second == report["emails"][1:3]
    assert chimp(strict, "GET", "/reports/nothing/email-activity").status_code == 404


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_tags_are_set_and_removed_as_mailchimp_does(systems_dir: Path, strict: bool) -> None:
    with running_simulator(systems_dir, strict=strict) as sim:
        target = chimp(sim, "GET", "/lists/{list}/members", count=5).json()["members"][3]
        tags = f"/lists/{{list}}/members/{target['id']}/tags"

        def listed_tags() -> set[str]:
            members = chimp(sim, "GET", "/lists/{list}/members", count=1000).json()["members"]
            return {t["name"] for m in members if m["id"] == target["id"] for t in m["tags"]}

        before = listed_tags()
        added = chimp(
            sim, "POST", tags, {"tags": [{"name": "vip", "status": "active"}, {"name": "lapsing", "status": "active"}]}
        )
        assert added.status_code == 204 and added.content == b""
        assert listed_tags() == before | {"vip", "lapsing"}
        assert chimp(sim, "POST", tags, {"tags": [{"name": "vip", "status": "inactive"}]}).status_code == 204
        assert listed_tags() == before | {"lapsing"}
        assert chimp(sim, "POST", tags, {"tags": [{"name": "never-set", "status": "inactive"}]}).status_code == 204
        unknown = chimp(
            sim, "POST", f"/lists/{{list}}/members/{'0' * 32}/tags", {"tags": [{"name": "vip", "status": "active"}]}
        )
        assert unknown.status_code == 404 and unknown.json()["title"] == "Resource Not Found"
        for bad in ({"tags": [{"name": "vip", "status": "on"}]}, {"tags": [{"name": "vip"}]}, {"tags": "vip"}, {}):
            assert chimp(sim, "POST", tags, bad).status_code == 400
        assert listed_tags() == before | {"lapsing"}
    assert [status for *_, status in writes(systems_dir, esp.FILE)] == [204, 204, 204, 404, 400, 400, 400, 400]


def test_strict_member_patch_corrects_merge_fields_only(strict_writable, systems_dir: Path) -> None:
    sim = strict_writable
    target = chimp(sim, "GET", "/lists/{list}/members", count=1).json()["members"][0]
    path = f"/lists/{{list}}/members/{target['id']}"
    body = {"merge_fields": {"LNAME": "Korjattu"}, "email_address": "moved@example.com", "status": "unsubscribed"}
    patched = chimp(sim, "PATCH", path, body)
    assert patched.status_code == 200 and set(patched.json()) == MEMBER
    member = patched.json()
    assert member["merge_fields"] == target["merge_fields"] | {"LNAME": "Korjattu"}
    assert (member["id"], member["email_address"], member["status"]) == (
        target["id"],
        target["email_address"],
        target["status"],
    ), "email_address and status are not in the contract's PATCH: ignored"
    listed = chimp(sim, "GET", "/lists/{list}/members", count=1).json()["members"][0]
    assert listed == member
    assert chimp(sim, "PATCH", path, {"merge_fields": {"NICKNAME": "x"}}).status_code == 400
    assert chimp(sim, "PATCH", f"/lists/{{list}}/members/{'0' * 32}", {"merge_fields": {}}).status_code == 404
    by_address = chimp(sim, "PATCH", f"/lists/{{list}}/members/{target['email_address']}", {"merge_fields": {}})
    assert by_address.status_code == 404, "the contract addresses a member by its hash only"
    assert [(m, s) for m, _, s in writes(systems_dir, esp.FILE)] == [
        ("PATCH", 200),
        ("PATCH", 400),
        ("PATCH", 404),
        ("PATCH", 404),
    ]
    assert json.loads(received_writes(systems_dir / esp.FILE)[0].body) == body, "logged as sent"


def test_strict_delete_permanent_erases_the_member(strict_writable, systems_dir: Path) -> None:
    sim = strict_writable
    before = chimp(sim, "GET", "/lists/{list}/members", count=1000).json()
    erased = before["members"][4]["id"]
    path = f"/lists/{{list}}/members/{erased}/actions/delete-permanent"
    assert chimp(sim, "POST", path).status_code == 204
    after = chimp(sim, "GET", "/lists/{list}/members", count=1000).json()
    assert after["total_items"] == before["total_items"] - 1 and erased not in {m["id"] for m in after["members"]}
    assert chimp(sim, "POST", path).status_code == 404
    assert [(m, p.rsplit("/", 1)[-1], s) for m, p, s in writes(systems_dir, esp.FILE)] == [
        ("POST", "delete-permanent", 204),
        ("POST", "delete-permanent", 404),
    ]


# --- the gate: limits, faults -----------------------------------------------------------------


def test_strict_email_platform_refuses_more_than_ten_requests_in_flight(strict) -> None:
    host, port = strict.url.removeprefix("http://").split(":")
    token = base64.b64encode(f"hub:{strict.esp_key}".encode()).decode()
    held = []
    try:
        for _ in range(10):
            sock = socket.create_connection((host, int(port)))
            sock.sendall(
                (
                    f"POST /3.0/lists/{strict.esp_list_id}/members/{'0' * 32}/tags HTTP/1.1\r\n"
                    f"Host: {host}:{port}\r\nAuthorization: Basic {token}\r\n"
                    "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
                ).encode()
            )
            held.append(sock)
        busy = _eventually(lambda: chimp(strict, "GET", "/campaigns"), lambda r: r.status_code == 429)
        assert busy.headers["Retry-After"] == "1" and busy.json()["status"] == 429
    finally:
        for sock in held:
            sock.close()
    assert _eventually(lambda: chimp(strict, "GET", "/campaigns"), lambda r: r.status_code == 200)


def _eventually(call, done, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while True:
        answer = call()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def test_strict_faults_are_injected_as_by_default(systems_dir: Path) -> None:
    statuses: Counter[int] = Counter()
    with running_simulator(systems_dir, fault_rate=0.4, strict=True) as sim:
        for i in range(200):
            answer = woo(sim, "GET", "/orders") if i % 2 else chimp(sim, "GET", "/lists/{list}/members")
            statuses[answer.status_code] += 1
    assert 0.25 < 1 - statuses[200] / 200 < 0.55
    assert statuses[429] and sum(statuses[code] for code in (500, 502, 503))
    assert set(statuses) <= {200, 429, 500, 502, 503}


# --- the official clients ---------------------------------------------------------------------


def test_official_woocommerce_client_works_against_strict_mode(strict_writable, systems_dir: Path) -> None:
    client = woo_client(strict_writable)
    listed = client.get("customers", params={"per_page": 20, "page": 2, "orderby": "id", "order": "asc"})
    assert listed.status_code == 200 and len(listed.json()) == 20
    assert int(listed.headers["X-WP-Total"]) == load_meta(systems_dir).counts["webshop_customers"]
    orders = client.get("orders", params={"per_page": 5, "modified_after": "2000-01-01T00:00:00"})
    assert orders.status_code == 200 and all(set(o) == ORDER for o in orders.json())
    mine = client.get("orders", params={"customer": orders.json()[0]["customer_id"], "per_page": 5})
    assert mine.headers["X-WP-Total"] == orders.headers["X-WP-Total"], "the ignored filter, signed by the client"
    assert client.get(f"customers/{listed.json()[0]['id']}").status_code == 404
    target = listed.json()[0]["id"]
    update = client.post(
        "customers/batch", {"update": [{"id": target, "meta_data": [{"key": "hub_segments", "value": "vip"}]}]}
    )
    assert update.status_code == 200 and update.json()["update"][0]["id"] == target
    deleted = client.post("orders/batch", {"delete": [orders.json()[0]["id"]]})
    assert deleted.status_code == 200 and deleted.json()["delete"][0]["id"] == orders.json()[0]["id"]
    assert [status for *_, status in writes(systems_dir, webshop.FILE)] == [200, 200]


def test_official_mailchimp_client_works_against_strict_mode(strict_writable, systems_dir: Path) -> None:
    sim = strict_writable
    client = chimp_client(sim)
    page = client.lists.get_list_members_info(sim.esp_list_id, count=20, offset=5)
    assert len(page["members"]) == 20 and page["total_items"] == load_meta(systems_dir).counts["esp_members"]
    since = client.lists.get_list_members_info(sim.esp_list_id, since_last_changed="2000-01-01T00:00:00+00:00")
    assert since["total_items"] == page["total_items"]
    campaigns = client.campaigns.list(since_send_time="2000-01-01T00:00:00+00:00")["campaigns"]
    activity = client.reports.get_email_activity_for_campaign(campaigns[0]["id"], count=5, offset=0)
    assert len(activity["emails"]) == 5
    target, erased = page["members"][0]["id"], page["members"][1]["id"]
    client.lists.update_list_member_tags(sim.esp_list_id, target, {"tags": [{"name": "vip", "status": "active"}]})
    patched = client.lists.update_list_member(sim.esp_list_id, target, {"merge_fields": {"FNAME": "Aino"}})
    assert patched["merge_fields"]["FNAME"] == "Aino" and "vip" in {t["name"] for t in patched["tags"]}
    client.lists.delete_list_member_permanent(sim.esp_list_id, erased)
    for uncontracted in (
        lambda: client.lists.get_list(sim.esp_list_id),
        lambda: client.lists.get_list_member(sim.esp_list_id, target),
        lambda: client.ping.get(),
        lambda: client.searchMembers.search("someone@example.com"),
    ):
        with pytest.raises(mailchimp_marketing.api_client.ApiClientError) as refused:
            uncontracted()
        assert refused.value.status_code == 404
    assert [(m, p.rsplit("/", 1)[-1], s) for m, p, s in writes(systems_dir, esp.FILE)] == [
        ("POST", "tags", 204),
        ("PATCH", target, 200),
        ("POST", "delete-permanent", 204),
    ]
    assert hashlib.md5(patched["email_address"].lower().encode()).hexdigest() == target
