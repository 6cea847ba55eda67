"""Telling the webshop (WooCommerce REST API v3) about erasures and rectifications.

WooCommerce's batch endpoints, beyond the contract's subset: ``customers/batch`` with ``delete``
(and ``update`` for corrections) and ``orders/batch`` with ``delete``, at most 100 items a call. A
guest checkout has no customer to delete, only its order, whose billing block is the identity. A
deleted customer's own orders would stay as guest orders with their billing block (WooCommerce's
``deleted_user`` hook), so an account's orders are listed and deleted before the account itself.
Batches answer per item: an "invalid id" error means the shop no longer has the record (``absent``).

A correction goes to the account's top-level and billing fields (the hub reads both). The shipping
block is left as the customer typed it: it may name someone else, who receives the parcels.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dlt.sources.helpers.requests import Client

from exports.attributes import known
from exports.http import ATTEMPTS, json_or_none, retrying_client, send, token
from exports.receipts import ABSENT, FAILED, SENT, Receipt

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


def delete_customers(
    base_url: str,
    key: str,
    secret: str,
    customer_ids: Iterable[int | str],
    *,
    with_orders: bool = True,
    attempts: int = ATTEMPTS,
) -> list[Receipt]:
    """Delete customer accounts, each after its own orders unless ``with_orders`` is False.

    Receipts' targets are the account ids as text and ``order:<id>`` for the orders (the hub's source
    keys). An account whose orders could not all be deleted is kept (a failed receipt), so that sending
    the notice again still finds them through the account.
    """
    auth = (key, secret)
    client = retrying_client(attempts)
    try:
        receipts: list[Receipt] = []
        accounts: list[int | str] = []
        stop = ""
        for raw in dict.fromkeys(customer_ids):
            number = _id(raw)
            if not with_orders or number is None:
                accounts.append(raw)
                continue
            if stop:
                receipts.append(Receipt(SYSTEM, "delete", str(number), FAILED, stop))
                continue
            orders, detail, fatal = _orders_of(client, base_url, auth, number)
            if orders is None:
                receipts.append(Receipt(SYSTEM, "delete", str(number), FAILED, f"orders not listed: {detail}"))
                stop = f"not sent: {detail}" if fatal else ""
                continue
            deleted = _delete(client, base_url, auth, "orders", orders, _order_key)
            receipts += deleted
            if all(r.settled for r in deleted):
                accounts.append(number)
            else:
                receipts.append(Receipt(SYSTEM, "delete", str(number), FAILED, "kept until its orders are deleted"))
        return receipts + _delete(client, base_url, auth, "customers", accounts, str)
    finally:
        client.session.close()


def delete_orders(
    base_url: str, key: str, secret: str, order_ids: Iterable[int | str], *, attempts: int = ATTEMPTS
) -> list[Receipt]:
    """Delete orders (ids, or the hub's ``order:<id>`` keys); receipts' targets are ``order:<id>``."""
    client = retrying_client(attempts)
    try:
        return _delete(client, base_url, (key, secret), "orders", order_ids, _order_key)
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
    for raw in dict.fromkeys(ids):
        number = _id(raw)
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


def _orders_of(
    client: Client, base_url: str, auth: tuple[str, str], customer: int
) -> tuple[list[int] | None, str, bool]:
    """The ids of a customer's orders, page by page; None when the shop would not list them, and then
    whether no other call can fare better (refused credentials, no answer)."""
    ids: list[int] = []
    page = 1
    while True:
        params = {"customer": customer, "per_page": MAX_BATCH, "page": page}
        response, detail = send(client, "GET", f"{base_url.rstrip('/')}{API_PATH}/orders", auth, params=params)
        body = json_or_none(response) if response is not None and response.status_code == 200 else None
        if not isinstance(body, list):
            return None, detail, response is None or response.status_code == 401
        ids += [order["id"] for order in body if isinstance(order, dict) and isinstance(order.get("id"), int)]
        pages = response.headers.get("X-WP-TotalPages", "")
        if not body or not pages.isdigit() or page >= int(pages):
            return ids, detail, False
        page += 1


def _order_key(order_id: int) -> str:
    return f"{_ORDER_PREFIX}{order_id}"


def _batch_url(base_url: str, resource: str) -> str:
    return f"{base_url.rstrip('/')}{API_PATH}/{resource}/batch"


def _id(value: int | str) -> int | None:
    text = str(value).strip().removeprefix(_ORDER_PREFIX)
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
