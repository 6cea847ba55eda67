"""The hub's HTTP API: golden customers, consent, any table a role may read, and data-subject requests.

Every call names its client by a bearer token (the client's access role comes with it) and every read
of personal data names its purpose in the ``X-Purpose`` header. Reads go through the role's views
(``hub.access.reader``), so the API shows exactly what the policy allows, and each one is written to
the audit log: who, what (by pseudonym), why and how many rows.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import pandas as pd
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hub import api_clients, audit, locking, storage
from hub.access.acting import Actor
from hub.access.policy import AccessDenied, load_policy
from hub.access.reader import ViewMissing, read_table
from hub.config import Settings
from hub.gdpr import requests as dsr
from hub.gdpr import service
from hub.gdpr.locate import SubjectNotFound, find_customers
from hub.gdpr.rectification import InvalidCorrection
from hub.gdpr.requests import RequestError
from hub.golden_store import resolve
from hub.pseudonym import reference

MAX_PAGE = 1000
ANCHOR_EVERY_SECONDS = 1.0
REQUEST_WAIT_SECONDS = 10  # an HTTP caller is told to come back rather than held while a pipeline runs


class NewRequest(BaseModel):
    kind: str
    identifier_kind: str
    identifier: str
    details: dict[str, str] = {}


class Verification(BaseModel):
    method: str


class Extension(BaseModel):
    months: int
    reason: str


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    def plain(value: Any) -> Any:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if value is pd.NaT:
            return None
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if hasattr(value, "item"):
            return value.item()
        return value

    return [{k: plain(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


# A role may look people up by an identifier only if it sees that identifier in clear.
LOOKUP_COLUMNS = {
    "email": ("mdm.golden_customer", "email"),
    "phone": ("mdm.golden_customer", "phone"),
    "record": ("mdm.customer_xref", "source_key"),
}

# How the hub's own refusals reach a client; their messages name no personal data.
ERROR_STATUS = {
    AccessDenied: 403,
    PermissionError: 403,
    ViewMissing: 503,
    RequestError: 409,
    SubjectNotFound: 404,
    InvalidCorrection: 422,
    locking.Busy: 503,
}


class _Throttled:
    """Runs ``action`` after a write at most once per ``seconds``: reads are audited one by one, but the
    anchor need not move on every one of them (the next write or ``hub audit verify`` catches up)."""

    def __init__(self, action, seconds: float) -> None:
        self.action, self.seconds, self.last = action, seconds, 0.0

    def after_write(self) -> None:
        now = time.monotonic()
        if now - self.last >= self.seconds:
            self.last = now
            self.action()


def _answer_with(status_code: int):
    async def answer(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=status_code)

    return answer


async def _invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's own answer echoes the submitted values, which may be personal data: name the fields only."""
    fields = [".".join(str(p) for p in problem.get("loc", ())) for problem in error.errors()]
    return JSONResponse({"detail": "invalid request", "fields": fields}, status_code=422)


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="Customer hub", description=__doc__)
    engine = storage.engine(settings.database_url)
    if storage.is_duckdb(settings.database_url):
        # An embedded DuckDB file takes one connection at a time from this process: answer in turn.
        turn = asyncio.Lock()

        @app.middleware("http")
        async def one_at_a_time(request: Request, call_next):
            async with turn:
                return await call_next(request)

    app.add_exception_handler(RequestValidationError, _invalid_request)
    anchoring = _Throttled(lambda: audit.keep_anchored(settings), ANCHOR_EVERY_SECONDS)

    def client(authorization: str = Header(default="")) -> Actor:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        with engine.connect() as connection:
            found = api_clients.authenticate(connection, token)
        if found is None:
            raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return Actor(found.name, found.role)

    def purpose(x_purpose: str = Header(default="")) -> str:
        if not x_purpose:
            raise HTTPException(400, "say why: the X-Purpose header is required to read personal data")
        return x_purpose

    def read(
        actor: Actor, why: str, table: str, subject: str | None, where: str = "", page: slice | None = None, **params
    ) -> pd.DataFrame:
        """One read through the role's view (a page of it), written to the audit log with its purpose."""
        with engine.begin() as connection:
            frame = read_table(connection, actor.role, table, why, where, **params)
            frame = frame.iloc[page] if page else frame
            audit.record(
                connection,
                actor=actor.name,
                role=actor.role,
                action="read",
                subject_ref=reference(settings, "customer", subject) if subject else None,
                purpose=why,
                detail={"table": table, "rows": len(frame)},
            )
        anchoring.after_write()
        return frame

    for error, status_code in ERROR_STATUS.items():
        app.add_exception_handler(error, _answer_with(status_code))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    def about(actor: Actor, why: str, table: str, customer_id: str) -> tuple[str, pd.DataFrame]:
        """The current ID of a customer and their rows of ``table``; 404 when the role may not see them."""
        with engine.connect() as connection:
            current = resolve(connection, customer_id)
        rows = read(actor, why, table, current, "customer_id = :c", c=current)
        if rows.empty:
            raise HTTPException(404, "no such customer visible to this role for this purpose")
        return current, rows

    @app.get("/customers/{customer_id}")
    def customer(customer_id: str, actor: Actor = Depends(client), why: str = Depends(purpose)) -> dict:
        """The golden record as the role sees it (404 also when the role may not see this person)."""
        current, rows = about(actor, why, "mdm.golden_customer", customer_id)
        return {
            "customer_id": current,
            "merged_from": customer_id if current != customer_id else None,
            "record": _records(rows)[0],
        }

    @app.get("/customers")
    def lookup(
        email: str | None = None,
        phone: str | None = None,
        record: str | None = None,
        actor: Actor = Depends(client),
        why: str = Depends(purpose),
    ) -> dict:
        """Find customers by one identifier; only those the role may see for the purpose come back."""
        given = [(k, v) for k, v in (("email", email), ("phone", phone), ("record", record)) if v]
        if len(given) != 1:
            raise HTTPException(400, "give exactly one of email, phone, record")
        role = load_policy().role(actor.role)
        role.check("mdm.golden_customer", why)
        table, column = LOOKUP_COLUMNS[given[0][0]]
        if table not in role.tables or role.column_access(table, column) != "see":
            raise AccessDenied(f"role {actor.role} may not look people up by {given[0][0]}")
        with engine.connect() as connection:
            ids = find_customers(connection, *given[0])
        found = []
        for customer_id in ids:
            rows = read(actor, why, "mdm.golden_customer", customer_id, "customer_id = :c", c=customer_id)
            found += _records(rows)
        return {"customers": found}

    @app.get("/customers/{customer_id}/consent")
    def consent(customer_id: str, actor: Actor = Depends(client), why: str = Depends(purpose)) -> dict:
        current, rows = about(actor, why, "mdm.consent_state", customer_id)
        return {"customer_id": current, "consent": _records(rows)}

    @app.get("/tables/{table}")
    def table(
        table: str,
        limit: int = 100,
        offset: int = 0,
        actor: Actor = Depends(client),
        why: str = Depends(purpose),
    ) -> dict:
        """Any table the role may read (``schema.table``), a page at a time, as its view shows it."""
        start = max(offset, 0)
        page = read(actor, why, table, None, page=slice(start, start + max(1, min(limit, MAX_PAGE))))
        return {"table": table, "offset": start, "rows": _records(page)}

    @app.post("/dsr", status_code=201)
    def open_request(body: NewRequest, actor: Actor = Depends(client)) -> dict:
        request_id = service.submit(settings, actor, body.kind, body.identifier_kind, body.identifier, body.details)
        return {"request_id": request_id, "status": "received"}

    @app.post("/dsr/{request_id}/verify")
    def verify(request_id: str, body: Verification, actor: Actor = Depends(client)) -> dict:
        service.verify(settings, actor, request_id, body.method)
        return {"request_id": request_id, "status": "verified"}

    @app.post("/dsr/{request_id}/run")
    def run(request_id: str, actor: Actor = Depends(client)) -> dict:
        outcome = service.carry_out(settings, actor, request_id, wait=REQUEST_WAIT_SECONDS)
        return {
            "request_id": request_id,
            "status": outcome.status,
            "summary": outcome.summary,
            "document": outcome.document,
        }

    @app.post("/dsr/{request_id}/extend")
    def extend(request_id: str, body: Extension, actor: Actor = Depends(client)) -> dict:
        deadline = service.extend(settings, actor, request_id, body.months, body.reason)
        return {"request_id": request_id, "deadline": deadline.isoformat()}

    @app.get("/dsr/{request_id}")
    def status(request_id: str, actor: Actor = Depends(client)) -> dict:
        """A request's status, deadline and trail (never its identifier)."""
        with engine.connect() as connection:
            request = dsr.load(connection, request_id)
            service.check_handler(actor, request.kind)
            trail = dsr.events(connection, request_id)
        return {
            "request_id": request.request_id,
            "kind": request.kind,
            "status": request.status,
            "received_at": request.received_at.isoformat(),
            "deadline": request.deadline.isoformat(),
            "extension_reason": request.extension_reason,
            "trail": _records(trail),
        }

    @app.get("/audit/verify")
    def verify_audit(actor: Actor = Depends(client)) -> dict:
        load_policy().permit(actor.role, "verify_audit")
        result, _ = audit.verify_anchored(settings)
        return {
            "ok": result.ok,
            "entries": result.entries,
            "head": result.head,
            "broken_at": result.broken_at,
            "problem": result.problem,
        }

    return app
