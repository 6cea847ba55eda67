"""Telling the webshop (WooCommerce REST API v3) about erasures and rectifications.

Only the contract's calls: ``customers/batch`` with ``delete`` and ``update``, ``orders/batch`` with
``delete`` (at most 100 items a call), and the orders listing with its paging and ``modified_after``.
The shop has no filter for one customer's orders (a server may ignore an unknown parameter and answer
with every order), so nothing here decides whose a record is: the caller names the ids, from what the
hub itself landed and from ``list_orders`` checked on each order's ``customer_id``. Batches answer per
item: an "invalid id" error means the shop no longer has the record (``absent``).

A correction goes to the account's top-level and billing fields (the hub reads both). The shipping
block is left as the customer typed it: it may name someone else, who receives the parcels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from exports.attributes import known
from exports.http import ATTEMPTS, ToolError, json_or_none, retrying_client, send, token
from exports.receipts import ABSENT, FAILED, SENT, Receipt

if TYPE_CHECKING:
    from dlt.sources.helpers.requests import Client

SYSTEM = "webshop"
API_PATH = "/wp-json/wc/v3"
MAX_BATCH = 100
TOP_LEVEL = ("first_name", "last_name", "email")
BILLING = {
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "phone": "phone",
    "street": "address_1",
    "postal_code": "postcode",
    "city": "city",
}
HELD = frozenset(BILLING)  # the hub attributes an account holds
_MISSING_CODES = {"woocommerce_rest_invalid_id", "woocommerce_rest_shop_order_invalid_id"}
_ORDER_PREFIX = "order:"


def delete_records(
    base_url: str,
    key: str,
    secret: str,
    *,
    orders: Iterable[int | str] = (),
    accounts: Iterable[int | str] = (),
    attempts: int = ATTEMPTS,
) -> list[Receipt]:
    """Delete exactly the orders and accounts named, orders first; nothing is listed or looked up here.

    The caller names only records it can attribute to the person (the shop has no filter for one
    customer's orders, so the hub decides from its own landed data and from ``list_orders``). Accounts
    go only after every named order is gone: WooCommerce keeps a deleted customer's orders as guest
    orders, billing block included, so an account whose orders are not all deleted is kept (a failed
    receipt) and the notice sent again still finds them.
    """
    client = retrying_client(attempts)
    try:
        receipts = _delete(client, base_url, (key, secret), "orders", orders, _order_key)
        account_ids = list(dict.fromkeys(str(a) for a in accounts))
        if all(r.settled for r in receipts):
            return receipts + _delete(client, base_url, (key, secret), "customers", account_ids, str)
        waiting = "kept until the person's orders are deleted"
        return receipts + [Receipt(SYSTEM, "delete", a, FAILED, waiting) for a in account_ids]
    finally:
        client.session.close()


def list_orders(
    base_url: str, key: str, secret: str, modified_after: str | None, *, attempts: int = ATTEMPTS
) -> list[tuple[int, int]]:
    """(order id, customer id) of every order modified after ``modified_after`` (all when None).

    Only the contract's listing parameters are used. Raises ``ToolError`` when the shop does not answer
    a page as the contract says, so that a caller never acts on half a listing.
    """
    client = retrying_client(attempts)
    found: list[tuple[int, int]] = []
    try:
        page = 1
        while True:
            params: dict[str, Any] = {"per_page": MAX_BATCH, "page": page}
            if modified_after:
                params["modified_after"] = modified_after
            response, detail = send(
                client, "GET", f"{base_url.rstrip('/')}{API_PATH}/orders", (key, secret), params=params
            )
            body = json_or_none(response) if response is not None and response.status_code == 200 else None
            if not isinstance(body, list):
                raise ToolError(f"webshop: orders not listed: {detail}")
            for order in body:
                if not (isinstance(order, dict) and isinstance(order.get("id"), int)):
                    raise ToolError("webshop: orders listing holds an item that is not an order")
                owner = order.get("customer_id")
                found.append((order["id"], owner if isinstance(owner, int) else 0))
            pages = response.headers.get("X-WP-TotalPages", "")
            if not body or not pages.isdigit() or page >= int(pages):
                return found
            page += 1
    finally:
        client.session.close()


def update_customer(
    base_url: str,
    key: str,
    secret: str,
    customer_id: int | str,
    changes: Mapping[str, Any],
    *,
    attempts: int = ATTEMPTS,
) -> Receipt | None:
    """Correct one account with the hub's attribute changes; None if it holds none of the attributes."""
    item = update_item(changes)
    if not item:
        return None
    target = str(customer_id)
    number = _id(customer_id)
    if number is None:
        return Receipt(SYSTEM, "update", target, FAILED, "not a WooCommerce id")
    client = retrying_client(attempts)
    try:
        response, detail = send(
            client, "POST", _batch_url(base_url, "customers"), (key, secret), {"update": [{"id": number, **item}]}
        )
    finally:
        client.session.close()
    answers = _answers(response, "update")
    if answers is None:
        return Receipt(SYSTEM, "update", target, FAILED, detail)
    status, detail = _item_outcome(answers.get(number), detail)
    return Receipt(SYSTEM, "update", target, status, detail)


def update_item(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The batch ``update`` fields for the hub's attribute changes (without the id); {} if none apply.

    The hub's street is the whole address line, so a new street also clears ``address_2``.
    """
    changes = known(changes)
    text = {k: "" if v is None else str(v) for k, v in changes.items() if k in BILLING}
    if not changes.get("email"):
        text.pop("email", None)
    item: dict[str, Any] = {k: text[k] for k in TOP_LEVEL if k in text}
    billing = {BILLING[k]: v for k, v in text.items()}
    if "street" in text:
        billing["address_2"] = ""
    if billing:
        item["billing"] = billing
    return item


def _delete(
    client: Client,
    base_url: str,
    auth: tuple[str, str],
    resource: str,
    ids: Iterable[int | str],
    target_of: Callable[[int], str],
) -> list[Receipt]:
    receipts: list[Receipt] = []
    numbers: list[int] = []
    prefix = _ORDER_PREFIX if resource == "orders" else ""
    for raw in dict.fromkeys(ids):
        number = _id(raw, prefix)
        if number is None:
            receipts.append(Receipt(SYSTEM, "delete", str(raw), FAILED, "not a WooCommerce id"))
        elif number not in numbers:
            numbers.append(number)
    stop = ""
    for start in range(0, len(numbers), MAX_BATCH):
        chunk = numbers[start : start + MAX_BATCH]
        if stop:
            receipts += [Receipt(SYSTEM, "delete", target_of(n), FAILED, stop) for n in chunk]
            continue
        response, detail = send(client, "POST", _batch_url(base_url, resource), auth, {"delete": chunk})
        answers = _answers(response, "delete")
        if answers is None:
            receipts += [Receipt(SYSTEM, "delete", target_of(n), FAILED, detail) for n in chunk]
            if response is None or response.status_code == 401:
                stop = f"not sent: {detail}"
            continue
        for number in chunk:
            status, outcome = _item_outcome(answers.get(number), detail)
            receipts.append(Receipt(SYSTEM, "delete", target_of(number), status, outcome))
    return receipts


def _order_key(order_id: int) -> str:
    return f"{_ORDER_PREFIX}{order_id}"


def _batch_url(base_url: str, resource: str) -> str:
    return f"{base_url.rstrip('/')}{API_PATH}/{resource}/batch"


def _id(value: int | str, prefix: str = "") -> int | None:
    """A positive WooCommerce id from an int or its text (orders may carry the hub's ``order:`` prefix)."""
    text = str(value).strip().removeprefix(prefix)
    return int(text) if text.isdigit() and int(text) > 0 else None


def _answers(response: Any, action: str) -> dict[int, dict[str, Any]] | None:
    """The per-item answers of a batch by id, or None when the call as a whole did not succeed."""
    if response is None or response.status_code != 200:
        return None
    body = json_or_none(response)
    items = body.get(action) if isinstance(body, dict) else None
    if not isinstance(items, list):
        return None
    return {item["id"]: item for item in items if isinstance(item, dict) and isinstance(item.get("id"), int)}


def _item_outcome(item: dict[str, Any] | None, detail: str) -> tuple[str, str]:
    if item is None:
        return FAILED, f"{detail}: the item is missing from the answer"
    error = item.get("error")
    if not isinstance(error, dict):
        return SENT, detail
    code = token(error.get("code")) or "?"
    return (ABSENT if code in _MISSING_CODES else FAILED), f"{detail}: item error {code}"
