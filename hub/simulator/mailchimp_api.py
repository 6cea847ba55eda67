"""The email platform's REST API: the Mailchimp Marketing v3 subset of the contract, over esp.sqlite.

Members page by count/offset in a stable order (sign-up order), filtered strictly after
since_last_changed; campaigns filter on since_send_time; a campaign's email activity lists only
members with some activity. Auth is HTTP Basic with any user name and the API key as password.
Errors are Mailchimp's problem+json documents.

Besides the contract's writes (tags, delete-permanent) it answers Mailchimp's member PATCH
(email_address, merge_fields, status), which the hub uses to pass on a rectification: a new
address gives the member a new id (the MD5 of the lower-cased address), as Mailchimp does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import sqlite3
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.simulator import esp, jsondoc, sqlite_store
from hub.simulator.clock import parse_iso
from hub.simulator.listing import Store
from hub.simulator.meta import load_meta

PREFIX = "/3.0"
MAX_COUNT = 1000
ERROR_TYPE = "https://mailchimp.com/developer/marketing/docs/errors/"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SETTABLE_STATUSES = ("subscribed", "unsubscribed", "pending")


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


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    response = ChimpError(status, title, detail).response()
    response.headers.update(headers or {})
    return response


def _not_found() -> ChimpError:
    return ChimpError(404, "Resource Not Found", "The requested resource could not be found.")


def _integer(request: Request, name: str, default: int, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ChimpError(400, "Invalid Resource", f"The parameter {name} must be an integer.") from None
    if value < 0 or (high is not None and value > high):
        raise ChimpError(400, "Invalid Resource", f"The parameter {name} must be between 0 and {high}.")
    return value


def _moment(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_iso(raw).isoformat(timespec="seconds")
    except ValueError:
        raise ChimpError(400, "Invalid Resource", f"The parameter {name} must be an ISO 8601 time.") from None


def subscriber_hash(value: str) -> str:
    """Mailchimp accepts the MD5 of the lower-cased address, or the address itself."""
    return esp.member_id(value) if "@" in value else value.lower()


def _page(request: Request, store: Store, query: str, params: tuple, table: str) -> tuple[list[str], int]:
    count = _integer(request, "count", 10, MAX_COUNT)
    offset = _integer(request, "offset", 0)
    conn = store.connect()
    try:
        keys = store.keys(conn, query, params)
        docs = store.documents(conn, table, "seq", keys[offset : offset + count].tolist())
    finally:
        conn.close()
    return docs, len(keys)


def build_router(store: Store, api_key: str, list_id: str) -> APIRouter:
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
            raise _not_found()

    def now() -> str:
        return load_meta(store.path.parent).clock.isoformat(timespec="seconds")

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

    @router.get("/lists/{audience}/members")
    def list_members(request: Request, audience: str) -> Response:
        authorise(request, audience)
        conditions, params = [], []
        since = _moment(request, "since_last_changed")
        if since:
            conditions.append("last_changed > ?")
            params.append(since)
        status = request.query_params.get("status")
        if status:
            conditions.append("status = ?")
            params.append(status)
        where = " AND ".join(conditions) or "1"
        docs, total = _page(
            request, store, f"SELECT seq FROM member WHERE {where} ORDER BY seq", tuple(params), "member"
        )
        text = f'{{"members":[{",".join(docs)}],"list_id":{jsondoc.dumps(list_id)},"total_items":{total},"_links":[]}}'
        return Response(text, media_type="application/json")

    @router.get("/lists/{audience}/members/{member}")
    def get_member(request: Request, audience: str, member: str) -> Response:
        authorise(request, audience)
        conn = store.connect()
        try:
            row = conn.execute("SELECT doc FROM member WHERE id = ?", (subscriber_hash(member),)).fetchone()
        finally:
            conn.close()
        if row is None:
            raise _not_found()
        return Response(row[0], media_type="application/json")

    def write_tags(request: Request, mid: str, tags: list[tuple[str, str]], raw: str) -> None:
        moment = now()
        with store.writing() as conn:
            row = conn.execute("SELECT doc FROM member WHERE id = ?", (mid,)).fetchone()
            if row is None:
                raise _not_found()
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
            sqlite_store.record_write(conn, request.method, request.url.path, raw, 204)

    def erase(request: Request, mid: str, raw: str) -> None:
        with store.writing() as conn:
            if conn.execute("DELETE FROM member WHERE id = ?", (mid,)).rowcount == 0:
                raise _not_found()
            conn.execute("DELETE FROM activity WHERE member_id = ?", (mid,))
            sqlite_store.record_write(conn, request.method, request.url.path, raw, 204)

    @router.post("/lists/{audience}/members/{member}/tags", status_code=204)
    async def update_tags(request: Request, audience: str, member: str) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        try:
            authorise(request, audience)
            try:
                body = jsondoc.loads(raw or "{}")
                tags = [(str(t["name"]), t.get("status", "active")) for t in body.get("tags", [])]
            except (ValueError, TypeError, KeyError, AttributeError):
                raise ChimpError(400, "Invalid Resource", "The resource submitted could not be validated.") from None
            await run_in_threadpool(write_tags, request, subscriber_hash(member), tags, raw)
        except ChimpError as error:
            await run_in_threadpool(store.record_refused, request.method, request.url.path, raw, error.status)
            raise
        return Response(status_code=204)

    @router.post("/lists/{audience}/members/{member}/actions/delete-permanent", status_code=204)
    async def delete_permanently(request: Request, audience: str, member: str) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        try:
            authorise(request, audience)
            await run_in_threadpool(erase, request, subscriber_hash(member), raw)
        except ChimpError as error:
            await run_in_threadpool(store.record_refused, request.method, request.url.path, raw, error.status)
            raise
        return Response(status_code=204)

    def patch(request: Request, mid: str, body: dict[str, Any], raw: str) -> str:
        moment = now()
        with store.writing() as conn:
            row = conn.execute("SELECT doc FROM member WHERE id = ?", (mid,)).fetchone()
            if row is None:
                raise _not_found()
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
            sqlite_store.record_write(conn, request.method, request.url.path, raw, 200)
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
                raise ChimpError(400, "Invalid Resource", "The resource submitted could not be validated.")
            text = await run_in_threadpool(patch, request, subscriber_hash(member), body, raw)
        except ChimpError as error:
            await run_in_threadpool(store.record_refused, request.method, request.url.path, raw, error.status)
            raise
        return Response(text, media_type="application/json")

    @router.get("/campaigns")
    def list_campaigns(request: Request) -> Response:
        authorise(request)
        since = _moment(request, "since_send_time")
        where, params = ("send_time > ?", (since,)) if since else ("1", ())
        docs, total = _page(
            request, store, f"SELECT seq FROM campaign WHERE {where} ORDER BY send_time, seq", params, "campaign"
        )
        return Response(
            f'{{"campaigns":[{",".join(docs)}],"total_items":{total},"_links":[]}}', media_type="application/json"
        )

    @router.get("/reports/{campaign}/email-activity")
    def email_activity(request: Request, campaign: str) -> Response:
        authorise(request)
        conn = store.connect()
        try:
            known = conn.execute("SELECT 1 FROM campaign WHERE id = ?", (campaign,)).fetchone()
        finally:
            conn.close()
        if known is None:
            raise _not_found()
        docs, total = _page(
            request, store, "SELECT seq FROM activity WHERE campaign_id = ? ORDER BY seq", (campaign,), "activity"
        )
        text = (
            f'{{"emails":[{",".join(docs)}],"campaign_id":{jsondoc.dumps(campaign)},"total_items":{total},"_links":[]}}'
        )
        return Response(text, media_type="application/json")

    return router


def _patched(doc: dict[str, Any], body: dict[str, Any], moment: str) -> dict[str, Any]:
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
            raise ChimpError(400, "Invalid Resource", "The resource submitted could not be validated.")
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
