"""The webshop's REST API: the WooCommerce v3 subset of the contract, over webshop.sqlite.

Listings page by page/per_page with X-WP-Total and X-WP-TotalPages (and a Link header, as
WordPress sends), filter on modified_after strictly on date_modified_gmt, and order by id.
Authentication is HTTP Basic, consumer_key/consumer_secret in the query, or one-legged OAuth 1.0a
(what WooCommerce's own client does over plain HTTP). Errors have WordPress's JSON shape.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.simulator import jsondoc, oauth1, sqlite_store
from hub.simulator.clock import parse_iso
from hub.simulator.listing import Store
from hub.simulator.meta import load_meta

PREFIX = "/wp-json/wc/v3"
MAX_PER_PAGE = 100
MAX_BATCH = 100
_HIDDEN_FROM_LINKS = {"consumer_key", "consumer_secret"}


class WooError(Exception):
    """A WordPress REST error: {"code", "message", "data": {"status"}}."""

    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message, "data": {"status": status, **data}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status)


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


def _integer(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.query_params.get(name)
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


def _moment(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name)
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


def build_router(store: Store, credentials: Credentials) -> APIRouter:
    router = APIRouter(prefix=PREFIX)

    def listing(request: Request, table: str, filters: list[tuple[str, Any]]) -> Response:
        credentials.check(request)
        page = _integer(request, "page", 1, 1)
        per_page = _integer(request, "per_page", 10, 1, MAX_PER_PAGE)
        orderby = request.query_params.get("orderby", "id")
        if orderby not in ("id", "date", "registered_date", "include"):
            raise WooError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): orderby",
                params={"orderby": "orderby is not one of id, date, registered_date, include."},
            )
        order = request.query_params.get("order", "asc")
        if order not in ("asc", "desc"):
            raise WooError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): order",
                params={"order": "order is not one of asc and desc."},
            )
        after, before = _moment(request, "modified_after"), _moment(request, "modified_before")
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
        link = _links(request, page, pages)
        if link:
            headers["Link"] = link
        return Response(jsondoc.array(docs), media_type="application/json", headers=headers)

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

    @router.get("/customers")
    def list_customers(request: Request) -> Response:
        filters: list[tuple[str, Any]] = []
        email = request.query_params.get("email")
        if email:
            filters.append(("lower(email) = ?", email.lower()))
        return listing(request, "customer", filters)

    @router.get("/customers/{customer_id}")
    def get_customer(request: Request, customer_id: int) -> Response:
        return single(request, "customer", customer_id)

    @router.get("/orders")
    def list_orders(request: Request) -> Response:
        filters: list[tuple[str, Any]] = []
        customer = request.query_params.get("customer")
        if customer is not None:
            filters.append(("customer_id = ?", _integer(request, "customer", 0, 0)))
        status = request.query_params.get("status")
        if status and status != "any":
            filters.append(("status = ?", status))
        return listing(request, "orders", filters)

    @router.get("/orders/{order_id}")
    def get_order(request: Request, order_id: int) -> Response:
        return single(request, "orders", order_id)

    @router.post("/customers/batch")
    async def batch_customers(request: Request) -> Response:
        raw = await request.body()
        text = raw.decode("utf-8", "replace")
        try:
            credentials.check(request)
            updates = _batch_updates(raw)
            now = load_meta(store.path.parent).clock.isoformat(timespec="seconds")
            answered = await run_in_threadpool(_apply_updates, store, updates, now, request.url.path, text)
        except WooError as error:
            await run_in_threadpool(store.record_refused, "POST", request.url.path, text, error.status)
            raise
        return JSONResponse({"update": answered})

    return router


def _batch_updates(raw: bytes) -> list[Any]:
    """The `update` list of a batch body, or WooCommerce's error for a body it would refuse."""
    try:
        body = jsondoc.loads(raw or b"{}")
    except ValueError:
        raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.") from None
    if not isinstance(body, dict):
        raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
    if sum(len(body.get(action) or []) for action in ("create", "update", "delete")) > MAX_BATCH:
        raise WooError(
            413,
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {MAX_BATCH} items for this request.",
        )
    if body.get("create") or body.get("delete"):
        raise WooError(400, "rest_invalid_param", "Only update is supported by this webshop.")
    return body.get("update") or []


def _apply_updates(store: Store, updates: list[Any], now: str, path: str, raw: str) -> list[dict[str, Any]]:
    """Merge each update's meta_data into the stored customer (by meta id, else by key)."""
    answered = []
    with store.writing() as conn:
        for update in updates:
            cid = update.get("id") if isinstance(update, dict) else None
            row = (
                conn.execute("SELECT doc FROM customer WHERE id = ?", (cid,)).fetchone()
                if isinstance(cid, int)
                else None
            )
            if row is None:
                answered.append(
                    {
                        "id": cid if isinstance(cid, int) else 0,
                        "error": {
                            "code": "woocommerce_rest_invalid_id",
                            "message": "Invalid ID.",
                            "data": {"status": 400},
                        },
                    }
                )
                continue
            doc = jsondoc.loads(row[0])
            meta = doc["meta_data"]
            next_id = max((m["id"] for m in meta), default=cid * 10) + 1
            for item in update.get("meta_data") or []:
                target = next((m for m in meta if "id" in item and m["id"] == item["id"]), None) or next(
                    (m for m in meta if m["key"] == item.get("key")), None
                )
                if target is None:
                    meta.append({"id": next_id, "key": item.get("key"), "value": item.get("value")})
                    next_id += 1
                else:
                    target["value"] = item.get("value")
            doc["date_modified_gmt"] = now
            conn.execute(
                "UPDATE customer SET date_modified_gmt = ?, doc = ? WHERE id = ?", (now, jsondoc.dumps(doc), cid)
            )
            answered.append(doc)
        sqlite_store.record_write(conn, "POST", path, raw, 200)
    return answered
