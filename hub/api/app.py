"""The API application: every area's router and the hub's refusals as HTTP answers. Reads go through the
role's views (``hub.access.reader``), so the API shows exactly what the policy allows, and each one is written
to the audit log before it is answered: who, what (by pseudonym), why, how many rows. Requests are answered
concurrently on both stores (``ApiContext``); the app's lifespan closes the database when the server stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from hub import locking
from hub.access.policy import AccessDenied
from hub.access.reader import ViewMissing
from hub.api import audiences, audit, customers, dsr, tables
from hub.api.context import ApiContext
from hub.audit import AuditUnavailable
from hub.config import Settings, load_settings
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
    AuditUnavailable: 503,
}
ROUTERS = (customers, tables, dsr, audit, audiences)


def _answer_with(status_code: int):
    async def answer(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=status_code)

    return answer


async def _no_nul_characters(request: Request) -> None:
    """PostgreSQL text cannot hold a NUL character: a path or query value with one is a 400 here rather than an
    error deep in a query. (Request bodies are models whose text fields refuse it, ``dsr.Text``.) Async, as it
    waits for nothing: FastAPI runs it on the event loop rather than in a worker thread."""
    if "\x00" in request.scope["path"] or any("\x00" in k + v for k, v in request.query_params.multi_items()):
        raise HTTPException(400, "NUL characters are not allowed in paths or query values")


async def _invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's own answer echoes the submitted values, which may be personal data: name the fields only."""
    fields = [".".join(str(p) for p in problem.get("loc", ())) for problem in error.errors()]
    return JSONResponse({"detail": "invalid request", "fields": fields}, status_code=422)


def create_app(settings: Settings) -> FastAPI:
    api = ApiContext(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        api.close()

    app = FastAPI(
        title="Customer hub", description=__doc__, dependencies=[Depends(_no_nul_characters)], lifespan=lifespan
    )
    app.add_exception_handler(RequestValidationError, _invalid_request)
    for error, status_code in ERROR_STATUS.items():
        app.add_exception_handler(error, _answer_with(status_code))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    for area in ROUTERS:
        app.include_router(area.router(api))
    return app


def from_environment() -> FastAPI:
    """The app as configured by the ``HUB_*`` variables: what each of ``hub api serve --workers N``'s processes
    serves."""
    return create_app(load_settings())
