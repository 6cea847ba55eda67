"""The API application: every area's router, the hub's refusals as HTTP answers, one request at a time on
an embedded DuckDB file. Reads go through the role's views (``hub.access.reader``), so the API shows exactly
what the policy allows, and each one is written to the audit log: who, what (by pseudonym), why, how many rows.
"""

from __future__ import annotations

import asyncio

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from hub import locking, storage
from hub.access.policy import AccessDenied
from hub.access.reader import ViewMissing
from hub.api import audiences, audit, customers, dsr, tables
from hub.api.context import ApiContext
from hub.config import Settings
from hub.gdpr.locate import SubjectNotFound
from hub.gdpr.rectification import InvalidCorrection
from hub.gdpr.requests import RequestError

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
ROUTERS = (customers, tables, dsr, audit, audiences)


def _answer_with(status_code: int):
    async def answer(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=status_code)

    return answer


def _no_nul_characters(request: Request) -> None:
    """PostgreSQL text cannot hold a NUL character: a path or query value with one is a 400 here rather than an
    error deep in a query. (Request bodies are models whose text fields refuse it, ``dsr.Text``.)"""
    if "\x00" in request.scope["path"] or any("\x00" in k + v for k, v in request.query_params.multi_items()):
        raise HTTPException(400, "NUL characters are not allowed in paths or query values")


async def _invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's own answer echoes the submitted values, which may be personal data: name the fields only."""
    fields = [".".join(str(p) for p in problem.get("loc", ())) for problem in error.errors()]
    return JSONResponse({"detail": "invalid request", "fields": fields}, status_code=422)


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="Customer hub", description=__doc__, dependencies=[Depends(_no_nul_characters)])
    if storage.is_duckdb(settings.database_url):
        # An embedded DuckDB file takes one connection at a time from this process: answer in turn.
        turn = asyncio.Lock()

        @app.middleware("http")
        async def one_at_a_time(request: Request, call_next):
            async with turn:
                return await call_next(request)

    app.add_exception_handler(RequestValidationError, _invalid_request)
    for error, status_code in ERROR_STATUS.items():
        app.add_exception_handler(error, _answer_with(status_code))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    api = ApiContext(settings)
    for area in ROUTERS:
        app.include_router(area.router(api))
    return app
