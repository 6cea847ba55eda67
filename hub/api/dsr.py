"""Data-subject requests over HTTP, as on the command line (``hub.gdpr.service``).

Each change holds ``api.writing``: on DuckDB the process's one writer at a time, shared with the audit writer
(the service writes its audit entries in its own transactions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from hub.access.acting import Actor
from hub.api.context import ApiContext, records
from hub.gdpr import requests as dsr
from hub.gdpr import service

REQUEST_WAIT_SECONDS = 10  # an HTTP caller is told to come back rather than held while a pipeline runs
Text = Annotated[str, Field(pattern=r"^[^\x00]*$")]  # PostgreSQL text cannot hold a NUL character: a 422, not a 500


class NewRequest(BaseModel):
    kind: Text
    identifier_kind: Text
    identifier: Text
    details: dict[Text, Text] = {}


class Verification(BaseModel):
    method: Text


class Extension(BaseModel):
    months: int
    reason: Text


def router(api: ApiContext) -> APIRouter:
    routes = APIRouter(prefix="/dsr", tags=["data-subject requests"])
    settings = api.settings

    @routes.post("", status_code=201)
    def open_request(body: NewRequest, actor: Actor = Depends(api.client)) -> dict:
        with api.writing:
            request_id = service.submit(settings, actor, body.kind, body.identifier_kind, body.identifier, body.details)
        return {"request_id": request_id, "status": "received"}

    @routes.post("/{request_id}/verify")
    def verify(request_id: str, body: Verification, actor: Actor = Depends(api.client)) -> dict:
        with api.writing:
            service.verify(settings, actor, request_id, body.method)
        return {"request_id": request_id, "status": "verified"}

    @routes.post("/{request_id}/run")
    def run(request_id: str, actor: Actor = Depends(api.client)) -> dict:
        with api.writing:
            outcome = service.carry_out(settings, actor, request_id, wait=REQUEST_WAIT_SECONDS)
        return {
            "request_id": request_id,
            "status": outcome.status,
            "summary": outcome.summary,
            "document": outcome.document,
        }

    @routes.post("/{request_id}/extend")
    def extend(request_id: str, body: Extension, actor: Actor = Depends(api.client)) -> dict:
        with api.writing:
            deadline = service.extend(settings, actor, request_id, body.months, body.reason)
        return {"request_id": request_id, "deadline": deadline.isoformat()}

    @routes.get("/{request_id}")
    def status(request_id: str, actor: Actor = Depends(api.client)) -> dict:
        """A request's status, deadline and trail (never its identifier)."""
        with api.engine.connect() as connection:
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
            "trail": records(trail),
        }

    return routes
