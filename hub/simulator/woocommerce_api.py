"""The webshop's REST API: the WooCommerce v3 subset of the contract, over webshop.sqlite.

Listings page by page/per_page with X-WP-Total and X-WP-TotalPages (and a Link header, as
WordPress sends), filter on modified_after strictly on date_modified_gmt, and order by id.
Authentication is HTTP Basic, consumer_key/consumer_secret in the query, or one-legged OAuth 1.0a
(what WooCommerce's own client does over plain HTTP). Errors have WordPress's JSON shape.

Writes are WooCommerce's batch endpoints: customers `update` (names, email, billing/shipping fields,
meta_data) and `delete`, orders `delete`, each request logged in the store's `writes` table.
Beyond the contract, and so not in the strict dialect, it answers single customers and orders, the
listing filters `email` (customers), `customer` and `status` (orders) and `modified_before`, other
orderings, the Link header and the fields of WooCommerce's documents the contract does not name.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import re
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.simulator import contract, jsondoc, oauth1, writes_log
from hub.simulator.clock import parse_iso
from hub.simulator.listing import Store
from hub.simulator.meta import load_meta

PREFIX = "/wp-json/wc/v3"
MAX_PER_PAGE = 100
MAX_BATCH = 100
_ORDERINGS = ("id", "date", "registered_date", "include")
_HIDDEN_FROM_LINKS = {"consumer_key", "consumer_secret"}

Filters = list[tuple[str, Any]]  # SQL conditions on a listed table, with their parameters


class WooError(Exception):
    """A WordPress REST error: {"code", "message", "data": {"status"}}."""

    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message, "data": {"status": status, **data}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status)


def no_route() -> WooError:
    """WordPress's answer to a route, or a method of one, that the API does not serve."""
    return WooError(404, "rest_no_route", "No route was found matching the URL and request method.")


class Credentials:
    """Checks a request against the consumer key and secret in any of WooCommerce's three ways."""

    def __init__(self, key: str, secret: str) -> None:
        self.key = key
        self.secret = secret
        self.nonces = oauth1.NonceRegister()

    def check(self, request: Request) -> None:
        query = dict(request.query_params)
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise WooError(401, "woocommerce_rest_authentication_error", "Invalid Authorization header.") from None
            self._compare(user, password)
        elif "consumer_key" in query:
            self._compare(query["consumer_key"], query.get("consumer_secret", ""))
        elif "oauth_consumer_key" in query:
            base_url = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}{request.url.path}"
            problem = oauth1.verify(request.method, base_url, query, self.key, self.secret, self.nonces)
            if problem:
                raise WooError(401, "woocommerce_rest_authentication_error", problem)
        else:
            raise WooError(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")

    def _compare(self, key: str, secret: str) -> None:
        if not hmac.compare_digest(key, self.key):
            raise WooError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if not hmac.compare_digest(secret, self.secret):
            raise WooError(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")


def _integer(params: Mapping[str, str], name: str, default: int, low: int, high: int | None = None) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bounds = f"between {low} (inclusive) and {high} (inclusive)" if high else f"at least {low}"
        raise WooError(
            400, "rest_invalid_param", f"Invalid parameter(s): {name}", params={name: f"{name} must be {bounds}."}
        )
    return value


def _moment(params: Mapping[str, str], name: str) -> str | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return parse_iso(raw).isoformat(timespec="seconds")
    except ValueError:
        raise WooError(
            400, "rest_invalid_param", f"Invalid parameter(s): {name}", params={name: "Invalid date."}
        ) from None


def _links(request: Request, page: int, pages: int) -> str:
    query = {
        k: v for k, v in request.query_params.items() if k not in _HIDDEN_FROM_LINKS and not k.startswith("oauth_")
    }
    base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}{request.url.path}"
    links = []
    if page > 1:
        links.append(f'<{base}?{urlencode(query | {"page": page - 1})}>; rel="prev"')
    if page < pages:
        links.append(f'<{base}?{urlencode(query | {"page": page + 1})}>; rel="next"')
    return ", ".join(links)


def build_router(store: Store, credentials: Credentials, dialect: contract.Dialect) -> APIRouter:
    router = APIRouter(prefix=PREFIX)
    orderings = contract.WOO_ORDERINGS if dialect.strict else _ORDERINGS

    def listing(request: Request, table: str, more_filters: Callable[[Mapping[str, str]], Filters]) -> Response:
        credentials.check(request)
        params = dialect.read(request.query_params, contract.WOO_LISTING_QUERY)
        page = _integer(params, "page", 1, 1)
        per_page = _integer(params, "per_page", 10, 1, MAX_PER_PAGE)
        orderby = params.get("orderby", "id")
        if orderby not in orderings:
            raise WooError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): orderby",
                params={"orderby": f"orderby is not one of {', '.join(orderings)}."},
            )
        order = params.get("order", "asc")
        if order not in ("asc", "desc"):
            raise WooError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): order",
                params={"order": "order is not one of asc and desc."},
            )
        filters = more_filters(params)
        after, before = _moment(params, "modified_after"), _moment(params, "modified_before")
        if after:
            filters.append(("date_modified_gmt > ?", after))
        if before:
            filters.append(("date_modified_gmt < ?", before))
        where = " AND ".join(condition for condition, _ in filters) or "1"
        conn = store.connect()
        try:
            keys = store.keys(
                conn, f"SELECT id FROM {table} WHERE {where} ORDER BY id", tuple(value for _, value in filters)
            )
            if order == "desc":
                keys = keys[::-1]
            chosen = keys[(page - 1) * per_page : page * per_page].tolist()
            docs = store.documents(conn, table, "id", chosen)
        finally:
            conn.close()
        total = len(keys)
        pages = math.ceil(total / per_page)
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        link = "" if dialect.strict else _links(request, page, pages)
        if link:
            headers["Link"] = link
        body = jsondoc.array(dialect.documents(docs, _SHAPES[table]))
        return Response(body, media_type="application/json", headers=headers)

    @router.get("/customers")
    def list_customers(request: Request) -> Response:
        return listing(request, "customer", _customer_filters)

    @router.get("/orders")
    def list_orders(request: Request) -> Response:
        return listing(request, "orders", _order_filters)

    async def batch(request: Request, table: str) -> Response:
        raw = await request.body()
        text = raw.decode("utf-8", "replace")
        try:
            credentials.check(request)
            actions = _batch_actions(raw, table)
            now = load_meta(store.path.parent).clock.isoformat(timespec="seconds")
            answered = await run_in_threadpool(_apply_batch, store, table, actions, now, request.url.path, text)
        except WooError as error:
            await run_in_threadpool(store.record_refused, "POST", request.url.path, text, error.status)
            raise
        served = {
            action: [item if "error" in item else dialect.document(item, _SHAPES[table]) for item in items]
            for action, items in answered.items()
        }
        return JSONResponse(served)

    @router.post("/customers/batch")
    async def batch_customers(request: Request) -> Response:
        return await batch(request, "customer")

    @router.post("/orders/batch")
    async def batch_orders(request: Request) -> Response:
        return await batch(request, "orders")

    if not dialect.strict:

        def single(request: Request, table: str, key: int) -> Response:
            credentials.check(request)
            conn = store.connect()
            try:
                docs = store.documents(conn, table, "id", [key])
            finally:
                conn.close()
            if not docs:
                raise WooError(404, "woocommerce_rest_invalid_id", "Invalid ID.")
            return Response(docs[0], media_type="application/json")

        @router.get("/customers/{customer_id}")
        def get_customer(request: Request, customer_id: int) -> Response:
            return single(request, "customer", customer_id)

        @router.get("/orders/{order_id}")
        def get_order(request: Request, order_id: int) -> Response:
            return single(request, "orders", order_id)

    return router


def _customer_filters(params: Mapping[str, str]) -> Filters:
    """WooCommerce's `email` filter (a strict dialect never passes it: the contract does not name it)."""
    email = params.get("email")
    return [("lower(email) = ?", email.lower())] if email else []


def _order_filters(params: Mapping[str, str]) -> Filters:
    """WooCommerce's `customer` and `status` filters (not in the contract, so never passed by a strict dialect)."""
    filters: Filters = []
    if params.get("customer") is not None:
        filters.append(("customer_id = ?", _integer(params, "customer", 0, 0)))
    status = params.get("status")
    if status and status != "any":
        filters.append(("status = ?", status))
    return filters


_SUPPORTED = {"customer": ("update", "delete"), "orders": ("delete",)}
_SHAPES = {"customer": contract.CUSTOMER, "orders": contract.ORDER}
_NOUNS = {"customer": "customers", "orders": "orders"}
_MISSING = {
    "customer": ("woocommerce_rest_invalid_id", "Invalid resource id.", 400),
    "orders": ("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _batch_actions(raw: bytes, table: str) -> dict[str, list[Any]]:
    """The actions of a batch body this webshop performs, or WooCommerce's error for a body it would refuse."""
    try:
        body = jsondoc.loads(raw or b"{}")
    except ValueError:
        raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.") from None
    if not isinstance(body, dict):
        raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
    actions = {action: body.get(action) or [] for action in ("create", "update", "delete")}
    for action, items in actions.items():
        if not isinstance(items, list):
            raise WooError(
                400, "rest_invalid_param", f"Invalid parameter(s): {action}", params={action: f"{action} is not array."}
            )
    if sum(len(items) for items in actions.values()) > MAX_BATCH:
        raise WooError(
            413,
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {MAX_BATCH} items for this request.",
        )
    for action, items in actions.items():
        if items and action not in _SUPPORTED[table]:
            message = f"This webshop does not {action} {_NOUNS[table]} through the API."
            raise WooError(400, "rest_invalid_param", message)
    return {action: items for action, items in actions.items() if items}


def _apply_batch(
    store: Store, table: str, actions: dict[str, list[Any]], now: str, path: str, raw: str
) -> dict[str, list[dict[str, Any]]]:
    """Updates, then deletes, in one transaction; answered per item as WooCommerce does (errors inline)."""
    answered: dict[str, list[dict[str, Any]]] = {}
    with store.writing() as conn:
        if "update" in actions:
            answered["update"] = [_update_customer(conn, item, now) for item in actions["update"]]
        if "delete" in actions:
            deleted = (_delete(conn, table, _item_id(item), now) for item in actions["delete"])
            answered["delete"] = [answer for answer in deleted if answer is not None]
        writes_log.record_write(conn, "POST", path, raw, 200)
    return answered


def _item_id(value: Any) -> int:
    """WooCommerce casts each id with PHP's (int): a numeric string counts, anything else is 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return 0


def _item_error(key: Any, code: str, message: str, status: int) -> dict[str, Any]:
    return {"id": key, "error": {"code": code, "message": message, "data": {"status": status}}}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _update_customer(conn: sqlite3.Connection, update: Any, now: str) -> dict[str, Any]:
    """Apply names, email, billing/shipping fields and meta_data (by meta id, else by key) to one customer."""
    cid = update.get("id") if isinstance(update, dict) else None
    if not isinstance(cid, int) or isinstance(cid, bool):
        return _item_error(0, "woocommerce_rest_invalid_id", "Invalid ID.", 400)
    row = conn.execute("SELECT doc FROM customer WHERE id = ?", (cid,)).fetchone()
    if row is None:
        return _item_error(cid, "woocommerce_rest_invalid_id", "Invalid ID.", 400)
    doc = jsondoc.loads(row[0])
    if update.get("email") is not None:
        email = str(update["email"]).strip()
        if not _EMAIL.match(email):
            return _item_error(cid, "customer_invalid_email", "Invalid email address", 400)
        taken = conn.execute("SELECT 1 FROM customer WHERE lower(email) = ? AND id <> ?", (email.lower(), cid))
        if taken.fetchone():
            return _item_error(cid, "existing_user_email", "Sorry, that email address is already used!", 400)
        doc["email"] = email
    for key in ("first_name", "last_name"):
        if key in update:
            doc[key] = _text(update[key])
    for block in ("billing", "shipping"):
        if isinstance(update.get(block), dict):
            doc[block] |= {key: _text(value) for key, value in update[block].items() if key in doc[block]}
    _merge_meta(doc["meta_data"], update.get("meta_data") or [], cid)
    doc["date_modified_gmt"] = now
    conn.execute(
        "UPDATE customer SET email = ?, date_modified_gmt = ?, doc = ? WHERE id = ?",
        (doc["email"], now, jsondoc.dumps(doc), cid),
    )
    return doc


def _merge_meta(meta: list[dict[str, Any]], items: list[Any], cid: int) -> None:
    next_id = max((m["id"] for m in meta), default=cid * 10) + 1
    for item in items:
        target = next((m for m in meta if "id" in item and m["id"] == item["id"]), None) or next(
            (m for m in meta if m["key"] == item.get("key")), None
        )
        if target is None:
            meta.append({"id": next_id, "key": item.get("key"), "value": item.get("value")})
            next_id += 1
        else:
            target["value"] = item.get("value")


def _delete(conn: sqlite3.Connection, table: str, key: int, now: str) -> dict[str, Any] | None:
    """Delete one customer or order for good (WooCommerce's batch forces deletion) and answer its last state.

    Id 0 is skipped without an answer, as WooCommerce does. A deleted customer's orders stay, turned into
    guest orders (customer_id 0, billing kept), as WooCommerce's `deleted_user` hook does.
    """
    if key == 0:
        return None
    row = conn.execute(f"SELECT doc FROM {table} WHERE id = ?", (key,)).fetchone()
    if row is None:
        return _item_error(key, *_MISSING[table])
    conn.execute(f"DELETE FROM {table} WHERE id = ?", (key,))
    if table == "customer":
        for oid, text in conn.execute("SELECT id, doc FROM orders WHERE customer_id = ?", (key,)).fetchall():
            order = jsondoc.loads(text)
            order["customer_id"] = 0
            order["date_modified_gmt"] = now
            conn.execute(
                "UPDATE orders SET customer_id = 0, date_modified_gmt = ?, doc = ? WHERE id = ?",
                (now, jsondoc.dumps(order), oid),
            )
    return jsondoc.loads(row[0])
