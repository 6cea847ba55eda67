"""`create_app`: one HTTP server speaking both the webshop's and the email platform's APIs.

By default they speak all the simulator knows of WooCommerce and Mailchimp; `strict` restricts
them to what the contract page names (see `contract`), so that a client relying on more fails
here as it would against an independent implementation of the page. A route either API does not
serve answers 404 in that product's error shape, and a write sent to one is logged with its 404.

A thin ASGI gate in front of the routes does what the real services do to their clients:
Mailchimp's limit of 10 simultaneous requests, and (with `fault_rate`) seeded random 429s
with Retry-After and 500/502/503s on reads and writes alike. Faults are decided before a request
touches any data, so they never change what is stored (a write answered with a fault was not
done). The access log stays off: query strings and paths carry email addresses, which must not
end up in logs.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from hub.simulator import contract, esp, mailchimp_api, webshop, woocommerce_api
from hub.simulator.listing import Store
from hub.simulator.meta import load_meta

MAX_IN_FLIGHT = 10
RETRY_AFTER_SECONDS = 1
_READS = ("GET", "HEAD", "OPTIONS")

_GATEWAY_PAGE = (
    "<html><head><title>{code} {reason}</title></head><body><center><h1>{code} {reason}</h1></center></body></html>"
)
_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class Gate:
    """ASGI middleware: Mailchimp's concurrency limit and the injected faults."""

    def __init__(self, app: Any, fault_rate: float, seed: int) -> None:
        self.app = app
        self.fault_rate = fault_rate
        self.rng = random.Random(seed)
        self.in_flight = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        chimp = path.startswith(mailchimp_api.PREFIX + "/")
        woo = path.startswith(woocommerce_api.PREFIX + "/")
        if chimp and self.in_flight >= MAX_IN_FLIGHT:
            await self._send(send, 429, chimp)
            return
        if chimp:
            self.in_flight += 1
        try:
            if (chimp or woo) and self.fault_rate > 0 and self.rng.random() < self.fault_rate:
                status = 429 if self.rng.random() < 0.5 else self.rng.choice((500, 502, 503))
                await self._send(send, status, chimp)
                return
            await self.app(scope, receive, send)
        finally:
            if chimp:
                self.in_flight -= 1

    @staticmethod
    async def _send(send: Any, status: int, chimp: bool) -> None:
        reason = _REASONS[status]
        headers = []
        if status in (502, 503):
            body = _GATEWAY_PAGE.format(code=status, reason=reason).encode()
            content_type = b"text/html"
        elif chimp:
            body = json.dumps(
                {
                    "type": mailchimp_api.ERROR_TYPE,
                    "title": reason,
                    "status": status,
                    "detail": "Simulated failure."
                    if status != 429
                    else "You have exceeded the limit of 10 simultaneous connections.",
                }
            ).encode()
            content_type = b"application/problem+json"
        else:
            code = "woocommerce_rest_too_many_requests" if status == 429 else "internal_server_error"
            body = json.dumps({"code": code, "message": reason, "data": {"status": status}}).encode()
            content_type = b"application/json"
        if status in (429, 503):
            headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
        headers += [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def create_app(out_dir: Path, fault_rate: float = 0.0, seed: int = 0, strict: bool = False) -> FastAPI:
    """The webshop (/wp-json/wc/v3) and email platform (/3.0) of the world generated in `out_dir`;
    `strict` serves only what the contract page names."""
    out_dir = Path(out_dir).resolve()
    meta = load_meta(out_dir)
    dialect = contract.Dialect(strict)
    shop, chimp = Store(out_dir / webshop.FILE), Store(out_dir / esp.FILE)
    app = FastAPI(title="Operational systems simulator", docs_url=None, redoc_url=None, openapi_url=None)
    credentials = woocommerce_api.Credentials(meta.webshop_key, meta.webshop_secret)
    app.include_router(woocommerce_api.build_router(shop, credentials, dialect))
    app.include_router(mailchimp_api.build_router(chimp, meta.esp_key, meta.esp_list_id, dialect))

    @app.exception_handler(HTTPException)
    async def no_route(request: Request, error: HTTPException) -> Response:
        """A path or method no route serves (FastAPI's 404 and 405), answered as the product would."""
        path = request.url.path
        for prefix, store, refusal in (
            (woocommerce_api.PREFIX, shop, woocommerce_api.no_route),
            (mailchimp_api.PREFIX, chimp, mailchimp_api.not_found),
        ):
            if path.startswith(prefix + "/"):
                if request.method not in _READS:
                    body = (await request.body()).decode("utf-8", "replace")
                    await run_in_threadpool(store.record_refused, request.method, path, body, 404)
                return refusal().response()
        return await http_exception_handler(request, error)

    @app.exception_handler(woocommerce_api.WooError)
    async def woo_error(request: Request, error: woocommerce_api.WooError) -> JSONResponse:
        return error.response()

    @app.exception_handler(mailchimp_api.ChimpError)
    async def chimp_error(request: Request, error: mailchimp_api.ChimpError) -> JSONResponse:
        return error.response()

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, error: ClientDisconnect) -> Response:
        return Response(status_code=400)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(Gate, fault_rate=fault_rate, seed=seed)
    return app
