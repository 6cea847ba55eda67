"""Data-subject requests end to end: the one entry point of the command line and the HTTP API.

``submit`` registers a request, ``verify`` records the identity check, ``carry_out`` does what the
request asks and answers it. Who may do what is fixed by role: customer service and the DPO handle
requests, only the DPO carries out an erasure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from hub import storage
from hub.config import Settings
from hub.gdpr import erasure, notify, rectification, report, restriction
from hub.gdpr import requests as dsr
from hub.gdpr.locate import Person, find_customers, person
from hub.gdpr.requests import Actor, RequestError
from hub.gdpr.suppression import suppress
from hub.pseudonym import pseudonym_key


def now() -> datetime:
    return datetime.now(UTC)


HANDLERS = {"dpo": set(dsr.KINDS), "customer_service": set(dsr.KINDS) - {"erasure"}}


@dataclass
class Outcome:
    request_id: str
    kind: str
    status: str
    summary: dict[str, Any] = field(default_factory=dict)
    document: dict[str, Any] | None = None  # the access report or the portable copy


def check_handler(actor: Actor, kind: str) -> None:
    """Refuse an actor whose role does not handle this kind of request."""
    if kind not in HANDLERS.get(actor.role, set()):
        raise PermissionError(f"role {actor.role} may not handle {kind} requests")


def submit(
    settings: Settings,
    actor: Actor,
    kind: str,
    identifier_kind: str,
    identifier: str,
    details: dict | None = None,
) -> str:
    check_handler(actor, kind)
    storage.migrate(settings.database_url)
    with storage.engine(settings.database_url).begin() as connection:
        return dsr.open_request(
            connection,
            pseudonym_key(settings),
            actor,
            kind=kind,
            identifier_kind=identifier_kind,
            identifier=identifier,
            details=details,
        )


def verify(settings: Settings, actor: Actor, request_id: str, method: str) -> None:
    with storage.engine(settings.database_url).begin() as connection:
        check_handler(actor, dsr.load(connection, request_id).kind)
        dsr.verify(connection, request_id, actor, method)


def extend(settings: Settings, actor: Actor, request_id: str, months: int, reason: str):
    with storage.engine(settings.database_url).begin() as connection:
        check_handler(actor, dsr.load(connection, request_id).kind)
        return dsr.extend(connection, request_id, actor, months, reason)


def carry_out(settings: Settings, actor: Actor, request_id: str) -> Outcome:
    """Do what a verified request asks; an erasure whose tools did not all answer can be carried out again."""
    key = pseudonym_key(settings)
    engine = storage.engine(settings.database_url)
    with engine.connect() as connection:
        request = dsr.load(connection, request_id)
    check_handler(actor, request.kind)
    if request.status == "awaiting_tools" and request.kind in ("erasure", "rectification"):
        return _resend(settings, actor, request, key)
    if request.status != "verified":
        raise RequestError(f"request {request_id} is {request.status}: only a verified request is carried out")
    with engine.connect() as connection:
        subject = _subject(connection, request, key)
    handler = {
        "access": _access,
        "portability": _portability,
        "rectification": _rectification,
        "erasure": _erasure,
        "restriction": _restriction,
        "objection": _restriction,
    }[request.kind]
    return handler(settings, actor, request, subject, key)


def _subject(connection: sa.Connection, request: dsr.Request, key: bytes) -> Person:
    """The person the request is about, found again now if nobody was found when it came in."""
    customers = [request.customer_id] if request.customer_id else []
    if not customers and request.identifier:
        customers = find_customers(connection, request.identifier_kind, request.identifier)
    if len(customers) > 1:
        raise RequestError(f"request {request.request_id}: several customers share the identifier; open it by ID")
    return person(connection, customers, key)


def _finish(connection: sa.Connection, actor: Actor, request: dsr.Request, status: str, summary: dict) -> Outcome:
    dsr.set_status(connection, request.request_id, actor, status, json.dumps(summary, sort_keys=True))
    return Outcome(request.request_id, request.kind, status, summary)


def _access(settings: Settings, actor: Actor, request: dsr.Request, subject: Person, key: bytes) -> Outcome:
    with storage.engine(settings.database_url).begin() as connection:
        document = report.access_report(connection, subject, key, request.request_id)
        summary = {"holdings": len(document["holdings"]), "systems": document["systems"]}
        outcome = _finish(connection, actor, request, "completed", summary)
    outcome.document = document
    return outcome


def _portability(settings: Settings, actor: Actor, request: dsr.Request, subject: Person, key: bytes) -> Outcome:
    with storage.engine(settings.database_url).begin() as connection:
        document = report.portability_export(connection, subject, key, request.request_id)
        outcome = _finish(connection, actor, request, "completed", {"systems": sorted(document["systems"])})
    outcome.document = document
    return outcome


def _restriction(settings: Settings, actor: Actor, request: dsr.Request, subject: Person, key: bytes) -> Outcome:
    with storage.engine(settings.database_url).begin() as connection:
        storage.wait_for_runs(connection)
        restriction.apply(connection, subject, request.kind, request.request_id)
        return _finish(connection, actor, request, "completed", {"customers": len(subject.customer_ids)})


def _rectification(settings: Settings, actor: Actor, request: dsr.Request, subject: Person, key: bytes) -> Outcome:
    if len(subject.customer_ids) != 1:
        raise RequestError(f"request {request.request_id}: no single customer to rectify")
    with storage.engine(settings.database_url).begin() as connection:
        storage.wait_for_runs(connection)
        changed = rectification.rectify(connection, subject, key, request.request_id, request.details)
        values = rectification.corrected_values(connection, subject.customer_ids[0], changed)
    receipts = notify.rectification(settings, request.request_id, subject, values)
    with storage.engine(settings.database_url).begin() as connection:
        notify.store(connection, key, request.request_id, receipts)
        status = "completed" if notify.all_done(receipts) else "awaiting_tools"
        return _finish(connection, actor, request, status, {"attributes": changed, **notify.tally(receipts)})


def _erasure(settings: Settings, actor: Actor, request: dsr.Request, subject: Person, key: bytes) -> Outcome:
    receipts = notify.erasure(settings, request.request_id, subject)
    with storage.engine(settings.database_url).begin() as connection:
        storage.wait_for_runs(connection)
        notify.store(connection, key, request.request_id, receipts)
        erased = erasure.erase(connection, subject, key, request.request_id)
        if not subject.customer_ids and request.identifier:  # nobody found: still keep them from arriving
            suppress(connection, key, [(request.identifier_kind, request.identifier)], request.request_id, now())
        status = "completed" if notify.all_done(receipts) else "awaiting_tools"
        summary = {
            "rows_removed": sum(erased.rows_removed.values()),
            "invoices_pseudonymised": erased.invoices_pseudonymised,
            "fields_blanked": erased.fields_blanked,
            "identifiers_suppressed": erased.suppressed_identifiers,
            **notify.tally(receipts),
        }
        return _finish(connection, actor, request, status, summary)


def _resend(settings: Settings, actor: Actor, request: dsr.Request, key: bytes) -> Outcome:
    """Send again what a tool has not confirmed; the request completes when every tool has."""
    with storage.engine(settings.database_url).connect() as connection:
        pending = notify.pending(connection, request.request_id)
    receipts = notify.resend(settings, request.request_id, pending, request.details)
    with storage.engine(settings.database_url).begin() as connection:
        notify.store(connection, key, request.request_id, receipts)
        left = notify.pending(connection, request.request_id)
        status = "completed" if left.empty else "awaiting_tools"
        return _finish(connection, actor, request, status, {"resent": len(receipts), "still_pending": len(left)})
