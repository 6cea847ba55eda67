"""The email platform's REST API: the Mailchimp Marketing v3 subset of the contract, over esp.sqlite.

Members page by count/offset in a stable order (sign-up order), filtered strictly after
since_last_changed; campaigns filter on since_send_time; a campaign's email activity lists only
members with some activity. Auth is HTTP Basic with any user name and the API key as password.
Errors are Mailchimp's problem+json documents. The writes (tags, delete-permanent, member PATCH)
are logged in the store's `writes` table.

Beyond the contract, and so not in the strict dialect, it answers GET /ping, the list and a single
member, the members' `status` filter, count/offset on campaigns, a member addressed by its email
instead of its hash, the fields of Mailchimp's documents the contract does not name, and PATCH of
`email_address` and `status` (which the hub used to pass on a rectification: a new address gives
the member a new id, the MD5 of the lower-cased address, as Mailchimp does). A strict PATCH acts on
`merge_fields` only and ignores the rest of the body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import sqlite3
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.simulator import contract, esp, jsondoc, writes_log
from hub.simulator.clock import parse_iso
from hub.simulator.listing import Store
from hub.simulator.meta import load_meta

PREFIX = "/3.0"
MAX_COUNT = 1000
DEFAULT_COUNT = 10
ERROR_TYPE = "https://mailchimp.com/developer/marketing/docs/errors/"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SETTABLE_STATUSES = ("subscribed", "unsubscribed", "pending")
_TAG_STATUSES = ("active", "inactive")


class ChimpError(Exception):
    """A Mailchimp API error document."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.body = {
            "type": ERROR_TYPE,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": hashlib.md5(f"{title}:{detail}".encode()).hexdigest(),
        }

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, media_type="application/problem+json")


def not_found() -> ChimpError:
    """Mailchimp's answer for an unknown list, member or campaign, and for a route it does not serve."""
    return ChimpError(404, "Resource Not Found", "The requested resource could not be found.")


def _invalid() -> ChimpError:
    return ChimpError(400, "Invalid Resource", "The resource submitted could not be validated.")


def _integer(params: Mapping[str, str], name: str, default: int, high: int | None = None) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ChimpError(400, "Invalid Resource", f"The parameter {name} must be an integer.") from None
    if value < 0 or (high is not None and value > high):
        raise ChimpError(400, "Invalid Resource", f"The parameter {name} must be between 0 and {high}.")
    return value


def _moment(params: Mapping[str, str], name: str) -> str | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_iso(raw).isoformat(timespec="seconds")
    except ValueError:
        raise ChimpError(400, "Invalid Resource", f"The parameter {name} must be an ISO 8601 time.") from None


def subscriber_hash(value: str) -> str:
    """Mailchimp accepts the MD5 of the lower-cased address, or the address itself."""
    return esp.member_id(value) if "@" in value else value.lower()


def _tag_changes(raw: str) -> list[tuple[str, str]]:
    """The (name, 'active' | 'inactive') pairs of a tags body, or Mailchimp's 400 for a body it refuses."""
    try:
        changes = [(tag["name"], tag["status"]) for tag in jsondoc.loads(raw or "{}")["tags"]]
    except (ValueError, TypeError, KeyError):
        raise _invalid() from None
    if not all(isinstance(name, str) and name.strip() and state in _TAG_STATUSES for name, state in changes):
        raise _invalid()
    return changes


def _page(
    params: Mapping[str, str], store: Store, query: str, args: tuple, table: str, paged: bool = True
) -> tuple[list[str], int]:
    """One page of a listing by count/offset, or all of it when not `paged`; and the listing's total."""
    count = _integer(params, "count", DEFAULT_COUNT, MAX_COUNT)
    offset = _integer(params, "offset", 0)
    conn = store.connect()
    try:
        keys = store.keys(conn, query, args)
        chosen = keys[offset : offset + count] if paged else keys
        docs = store.documents(conn, table, "seq", chosen.tolist())
    finally:
        conn.close()
    return docs, len(keys)


def build_router(store: Store, api_key: str, list_id: str, dialect: contract.Dialect) -> APIRouter:
    router = APIRouter(prefix=PREFIX)

    def authorise(request: Request, wanted_list: str | None = None) -> None:
        header = request.headers.get("authorization", "")
        password = ""
        if header.lower().startswith("basic "):
            try:
                password = base64.b64decode(header[6:]).decode().partition(":")[2]
            except (binascii.Error, UnicodeDecodeError):
                password = ""
        if not hmac.compare_digest(password, api_key):
            raise ChimpError(
                401,
                "API Key Invalid",
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            )
        if wanted_list is not None and wanted_list != list_id:
            raise not_found()

    def member_key(member: str) -> str:
        """The member id a path addresses: the contract's subscriber hash as given, or anything Mailchimp takes."""
        return member if dialect.strict else subscriber_hash(member)

    def collection(key: str, docs: list[str], total: int, shape: contract.Shape, **extras: Any) -> Response:
        """Mailchimp's collection document; the strict dialect answers only the items and total_items."""
        tail = {} if dialect.strict else {**extras, "_links": []}
        fields = "".join(f",{jsondoc.dumps(name)}:{jsondoc.dumps(value)}" for name, value in tail.items())
        items = ",".join(dialect.documents(docs, shape))
        return Response(f'{{"{key}":[{items}],"total_items":{total}{fields}}}', media_type="application/json")

    def now() -> str:
        return load_meta(store.path.parent).clock.isoformat(timespec="seconds")

    @router.get("/lists/{audience}/members")
    def list_members(request: Request, audience: str) -> Response:
        authorise(request, audience)
        params = dialect.read(request.query_params, contract.MEMBERS_QUERY)
        conditions, args = [], []
        since = _moment(params, "since_last_changed")
        if since:
            conditions.append("last_changed > ?")
            args.append(since)
        status = params.get("status")
        if status:
            conditions.append("status = ?")
            args.append(status)
        where = " AND ".join(conditions) or "1"
        query = f"SELECT seq FROM member WHERE {where} ORDER BY seq"
        docs, total = _page(params, store, query, tuple(args), "member")
        return collection("members", docs, total, contract.MEMBER, list_id=list_id)

    def write_tags(request: Request, mid: str, tags: list[tuple[str, str]], raw: str) -> None:
        moment = now()
        with store.writing() as conn:
            row = conn.execute("SELECT doc FROM member WHERE id = ?", (mid,)).fetchone()
            if row is None:
                raise not_found()
            doc = jsondoc.loads(row[0])
            ids = esp.tag_ids(conn, [name for name, _ in tags])
            current = {tag["name"]: tag for tag in doc["tags"]}
            for name, state in tags:
                if state == "inactive":
                    current.pop(name, None)
                else:
                    current.setdefault(name, {"id": ids[name], "name": name})
            doc["tags"] = [*current.values()]
            doc["tags_count"] = len(doc["tags"])
            doc["last_changed"] = moment
            conn.execute("UPDATE member SET last_changed = ?, doc = ? WHERE id = ?", (moment, jsondoc.dumps(doc), mid))
            writes_log.record_write(conn, request.method, request.url.path, raw, 204)

    def erase(request: Request, mid: str, raw: str) -> None:
        with store.writing() as conn:
            if conn.execute("DELETE FROM member WHERE id = ?", (mid,)).rowcount == 0:
                raise not_found()
            conn.execute("DELETE FROM activity WHERE member_id = ?", (mid,))
            writes_log.record_write(conn, request.method, request.url.path, raw, 204)

    @router.post("/lists/{audience}/members/{member}/tags", status_code=204)
    async def update_tags(request: Request, audience: str, member: str) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        try:
            authorise(request, audience)
            await run_in_threadpool(write_tags, request, member_key(member), _tag_changes(raw), raw)
        except ChimpError as error:
            await run_in_threadpool(store.record_refused, request.method, request.url.path, raw, error.status)
            raise
        return Response(status_code=204)

    @router.post("/lists/{audience}/members/{member}/actions/delete-permanent", status_code=204)
    async def delete_permanently(request: Request, audience: str, member: str) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        try:
            authorise(request, audience)
            await run_in_threadpool(erase, request, member_key(member), raw)
        except ChimpError as error:
            await run_in_threadpool(store.record_refused, request.method, request.url.path, raw, error.status)
            raise
        return Response(status_code=204)

    def patch(request: Request, mid: str, body: Mapping[str, Any], raw: str) -> str:
        moment = now()
        with store.writing() as conn:
            row = conn.execute("SELECT doc FROM member WHERE id = ?", (mid,)).fetchone()
            if row is None:
                raise not_found()
            doc = _patched(jsondoc.loads(row[0]), body, moment)
            new_id = esp.member_id(doc["email_address"])
            if new_id != mid:
                if conn.execute("SELECT 1 FROM member WHERE id = ?", (new_id,)).fetchone():
                    raise ChimpError(400, "Member Exists", "The new address is already a list member.")
                doc["id"] = new_id
                _move_activity(conn, mid, new_id, doc["email_address"])
            text = jsondoc.dumps(doc)
            conn.execute(
                "UPDATE member SET id = ?, email = ?, status = ?, timestamp_opt = ?, last_changed = ?, doc = ?"
                " WHERE id = ?",
                (new_id, doc["email_address"], doc["status"], doc["timestamp_opt"], moment, text, mid),
            )
            writes_log.record_write(conn, request.method, request.url.path, raw, 200)
        return text

    @router.patch("/lists/{audience}/members/{member}")
    async def update_member(request: Request, audience: str, member: str) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        try:
            authorise(request, audience)
            try:
                body = jsondoc.loads(raw or "{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise _invalid()
            changes = dialect.read(body, contract.MEMBER_PATCH)
            text = await run_in_threadpool(patch, request, member_key(member), changes, raw)
        except ChimpError as error:
            await run_in_threadpool(store.record_refused, request.method, request.url.path, raw, error.status)
            raise
        return Response(dialect.documents([text], contract.MEMBER)[0], media_type="application/json")

    @router.get("/campaigns")
    def list_campaigns(request: Request) -> Response:
        authorise(request)
        params = dialect.read(request.query_params, contract.CAMPAIGNS_QUERY)
        since = _moment(params, "since_send_time")
        where, args = ("send_time > ?", (since,)) if since else ("1", ())
        query = f"SELECT seq FROM campaign WHERE {where} ORDER BY send_time, seq"
        docs, total = _page(params, store, query, args, "campaign", paged=not dialect.strict)  # as in the contract
        return collection("campaigns", docs, total, contract.CAMPAIGN)

    @router.get("/reports/{campaign}/email-activity")
    def email_activity(request: Request, campaign: str) -> Response:
        authorise(request)
        params = dialect.read(request.query_params, contract.EMAIL_ACTIVITY_QUERY)
        conn = store.connect()
        try:
            known = conn.execute("SELECT 1 FROM campaign WHERE id = ?", (campaign,)).fetchone()
        finally:
            conn.close()
        if known is None:
            raise not_found()
        query = "SELECT seq FROM activity WHERE campaign_id = ? ORDER BY seq"
        docs, total = _page(params, store, query, (campaign,), "activity")
        return collection("emails", docs, total, contract.EMAIL_ACTIVITY, campaign_id=campaign)

    if not dialect.strict:

        @router.get("/ping")
        def ping(request: Request) -> JSONResponse:
            authorise(request)
            return JSONResponse({"health_status": "Everything's Chimpy!"})

        @router.get("/lists/{audience}")
        def get_list(request: Request, audience: str) -> JSONResponse:
            authorise(request, audience)
            conn = store.connect()
            try:
                members = conn.execute("SELECT COUNT(*) FROM member WHERE status = 'subscribed'").fetchone()[0]
            finally:
                conn.close()
            return JSONResponse({"id": list_id, "name": "Asiakkaat", "stats": {"member_count": members}})

        @router.get("/lists/{audience}/members/{member}")
        def get_member(request: Request, audience: str, member: str) -> Response:
            authorise(request, audience)
            conn = store.connect()
            try:
                row = conn.execute("SELECT doc FROM member WHERE id = ?", (subscriber_hash(member),)).fetchone()
            finally:
                conn.close()
            if row is None:
                raise not_found()
            return Response(row[0], media_type="application/json")

    return router


def _patched(doc: dict[str, Any], body: Mapping[str, Any], moment: str) -> dict[str, Any]:
    """The member after a PATCH of email_address, merge_fields and status, or Mailchimp's 400 for a bad one."""
    email = body.get("email_address")
    if email is not None:
        if not isinstance(email, str) or not _EMAIL.match(email.strip()):
            raise ChimpError(400, "Invalid Resource", "Please provide a valid email address.")
        doc["email_address"] = email.strip()
    fields = body.get("merge_fields")
    if fields is not None:
        if not isinstance(fields, dict) or not set(fields) <= set(doc["merge_fields"]):
            raise ChimpError(400, "Invalid Resource", "Your merge fields were invalid.")
        doc["merge_fields"] |= {key: "" if value is None else str(value) for key, value in fields.items()}
    status = body.get("status")
    if status is not None and status != doc["status"]:
        if status not in _SETTABLE_STATUSES:
            raise _invalid()
        doc["status"] = status
        doc["marketing_permissions"][0]["enabled"] = status == "subscribed"
        if status == "subscribed":
            doc["timestamp_opt"] = moment
    doc["last_changed"] = moment
    return doc


def _move_activity(conn: sqlite3.Connection, old_id: str, new_id: str, email: str) -> None:
    """A changed address moves the member's campaign activity along with its new id."""
    for seq, text in conn.execute("SELECT seq, doc FROM activity WHERE member_id = ?", (old_id,)).fetchall():
        activity = jsondoc.loads(text)
        activity["email_address"] = email
        conn.execute("UPDATE activity SET member_id = ?, doc = ? WHERE seq = ?", (new_id, jsondoc.dumps(activity), seq))
