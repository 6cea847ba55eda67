"""Data-subject requests end to end: the one entry point of the command line and the HTTP API.

``submit`` registers a request, ``verify`` records the identity check, ``carry_out`` does what the
request asks and answers it. Who may do what is the policy's ``[actions]``: ``handle_request`` (customer
service and the DPO) and ``erase`` (the DPO). Carrying a request out holds the hub's lock, so that a
pipeline run cannot land or rebuild the person from data it read before the request.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from hub import audit, locking, storage
from hub.access.acting import Actor
from hub.access.policy import load_policy
from hub.config import Settings
from hub.gdpr import erasure, notify, rectification, report, restriction
from hub.gdpr import requests as dsr
from hub.gdpr.locate import Person, find_customers, person
from hub.gdpr.requests import RequestError
from hub.gdpr.suppression import suppress
from hub.pseudonym import pseudonym_key

T = TypeVar("T")


def now() -> datetime:
    return datetime.now(UTC)


REQUEST_WAIT_SECONDS = 30 * 60  # how long a request waits for a running pipeline by default


def _anchored(step: Callable[..., T]) -> Callable[..., T]:
    """A request step whose audit entries are anchored (``hub.audit``) once it has succeeded."""

    @functools.wraps(step)
    def run(settings: Settings, *args, **kwargs) -> T:
        done = step(settings, *args, **kwargs)
        audit.keep_anchored(settings)
        return done

    return run


@dataclass
class Outcome:
    request_id: str
    kind: str
    status: str
    summary: dict[str, Any] = field(default_factory=dict)
    document: dict[str, Any] | None = None  # the access report or the portable copy


def check_handler(actor: Actor, kind: str) -> None:
    """Refuse an actor whose role does not handle this kind of request (AccessDenied)."""
    load_policy().permit(actor.role, "erase" if kind == "erasure" else "handle_request")


@_anchored
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


@_anchored
def verify(settings: Settings, actor: Actor, request_id: str, method: str) -> None:
    with storage.engine(settings.database_url).begin() as connection:
        check_handler(actor, dsr.load(connection, request_id).kind)
        dsr.verify(connection, request_id, actor, method)


@_anchored
def extend(settings: Settings, actor: Actor, request_id: str, months: int, reason: str):
    with storage.engine(settings.database_url).begin() as connection:
        check_handler(actor, dsr.load(connection, request_id).kind)
        return dsr.extend(connection, request_id, actor, months, reason)


@_anchored
def carry_out(
    settings: Settings,
    actor: Actor,
    request_id: str,
    *,
    dry_run: bool = False,
    max_deletes: int | None = None,
    wait: float = REQUEST_WAIT_SECONDS,
    notice: locking.Notice | None = None,
) -> Outcome:
    """Do what a verified request asks; an erasure whose tools did not all answer can be carried out again.

    An erasure first plans what each tool will be asked to delete: ``dry_run`` returns that plan as the
    outcome's document and changes nothing; a plan deleting more records than ``max_deletes`` (default
    ``HUB_ERASURE_MAX_DELETES``) stops before anything is sent. ``wait`` is how long to wait for a running
    pipeline (``notice`` is told when that happens).
    """
    key = pseudonym_key(settings)
    engine = storage.engine(settings.database_url)
    with engine.connect() as connection:
        request = dsr.load(connection, request_id)
    check_handler(actor, request.kind)
    with locking.exclusive(settings.database_url, f"{request.kind} request {request_id}", wait=wait, notice=notice):
        with engine.connect() as connection:
            request = dsr.load(connection, request_id)  # as it is now that nobody else writes
        if request.status == "awaiting_tools" and request.kind in ("erasure", "rectification"):
            return _resend(settings, actor, request, key, dry_run, max_deletes)
        if request.status != "verified":
            raise RequestError(f"request {request_id} is {request.status}: only a verified request is carried out")
        with engine.connect() as connection:
            subject = _subject(connection, request, key)
        if request.kind == "erasure":
            return _erasure(settings, actor, request, subject, key, dry_run, max_deletes)
        if dry_run:
            raise RequestError("only an erasure has a dry run")
        handler = {
            "access": _access,
            "portability": _portability,
            "rectification": _rectification,
            "restriction": _restriction,
            "objection": _restriction,
        }[request.kind]
        return handler(settings, actor, request, subject, key)


@_anchored
def handle(
    settings: Settings,
    actor: Actor,
    kind: str,
    identifier: tuple[str, str],
    verification: str,
    details: dict | None = None,
    *,
    wait: float = REQUEST_WAIT_SECONDS,
    notice: locking.Notice | None = None,
    **options,
) -> Outcome:
    """Register, verify and carry out a request at once, holding the hub's lock from the first step: on an
    embedded database another process may not even open the file while a run holds it."""
    check_handler(actor, kind)
    with locking.exclusive(settings.database_url, f"{kind} request", wait=wait, notice=notice):
        request_id = submit(settings, actor, kind, *identifier, details=details)
        verify(settings, actor, request_id, verification)
        return carry_out(settings, actor, request_id, **options)


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
        restriction.apply(connection, subject, request.kind, request.request_id)
        return _finish(connection, actor, request, "completed", {"customers": len(subject.customer_ids)})


def _rectification(settings: Settings, actor: Actor, request: dsr.Request, subject: Person, key: bytes) -> Outcome:
    if len(subject.customer_ids) != 1:
        raise RequestError(f"request {request.request_id}: no single customer to rectify")
    with storage.engine(settings.database_url).begin() as connection:
        changed = rectification.rectify(connection, subject, key, request.request_id, request.details)
        values = rectification.corrected_values(connection, subject.customer_ids[0], changed)
    receipts = notify.rectification(settings, request.request_id, subject, values)
    with storage.engine(settings.database_url).begin() as connection:
        notify.store(connection, key, (request.request_id, request.kind), receipts)
        status = "completed" if notify.all_done(receipts) else "awaiting_tools"
        return _finish(connection, actor, request, status, {"attributes": changed, **notify.tally(receipts)})


def _erasure(
    settings: Settings,
    actor: Actor,
    request: dsr.Request,
    subject: Person,
    key: bytes,
    dry_run: bool,
    max_deletes: int | None,
) -> Outcome:
    with storage.engine(settings.database_url).connect() as connection:
        plan = notify.plan_erasure(connection, settings, subject)
    if dry_run:
        return _dry_run(request, plan)
    _check_ceiling(settings, request, plan, max_deletes)
    receipts = notify.erasure(settings, request.request_id, plan)
    with storage.engine(settings.database_url).begin() as connection:
        notify.store(connection, key, (request.request_id, request.kind), receipts, plan.listed_since)
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


def _dry_run(request: dsr.Request, plan: notify.ErasurePlan) -> Outcome:
    """What would be sent, per tool, and nothing sent: the request keeps its status."""
    calls = [{"tool": tool, "call": call, "records": count} for tool, call, count in plan.calls()]
    document = {"calls": calls, "records": plan.total, "webshop_listing_problem": plan.problem or None}
    return Outcome(request.request_id, request.kind, request.status, {"would_delete": plan.total}, document)


def _check_ceiling(settings: Settings, request: dsr.Request, plan: notify.ErasurePlan, max_deletes: int | None) -> None:
    ceiling = max_deletes if max_deletes is not None else settings.erasure_ceiling
    if plan.total > ceiling:
        raise RequestError(
            f"request {request.request_id} would ask the tools to delete {plan.total} records, more than the "
            f"ceiling of {ceiling} (HUB_ERASURE_MAX_DELETES): check the plan with --dry-run, then confirm with "
            f"--max-deletes {plan.total}"
        )


def _resend(
    settings: Settings,
    actor: Actor,
    request: dsr.Request,
    key: bytes,
    dry_run: bool,
    max_deletes: int | None,
) -> Outcome:
    """Send again what a tool has not confirmed; the request completes when every tool has."""
    with storage.engine(settings.database_url).connect() as connection:
        pending = notify.pending(connection, request.request_id)
        plan = notify.resend_plan(connection, settings, pending)
    if dry_run:
        return _dry_run(request, plan)
    _check_ceiling(settings, request, plan, max_deletes)
    receipts = notify.erasure(settings, request.request_id, plan)
    receipts += notify.resend_updates(settings, request.request_id, pending, request.details)
    with storage.engine(settings.database_url).begin() as connection:
        notify.store(connection, key, (request.request_id, request.kind), receipts, plan.listed_since)
        left = notify.pending(connection, request.request_id)
        status = "completed" if left.empty else "awaiting_tools"
        return _finish(connection, actor, request, status, {"resent": len(receipts), "still_pending": len(left)})
