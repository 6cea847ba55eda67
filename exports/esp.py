"""Telling the email platform (Mailchimp Marketing API v3) about erasures and rectifications.

Only the contract's calls. Erasure is ``POST /lists/{list}/members/{hash}/actions/delete-permanent``;
a member the platform no longer has answers 404, which is the goal reached (``absent``). Rectification
is the member ``PATCH`` with ``merge_fields``: the contract has no way to change a member's address, so
a corrected email is never sent and its receipt fails with that reason, for someone to change it in the
platform by hand (the request stays ``awaiting_tools`` until then). Because a 404 also answers an
unknown audience, the audience is probed first with the contract's member listing (one member): a wrong
list id fails every notice instead of making them all look absent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from exports.attributes import as_date, known
from exports.http import ATTEMPTS, json_or_none, retrying_client, send
from exports.receipts import ABSENT, FAILED, SENT, Receipt

if TYPE_CHECKING:
    from dlt.sources.helpers.requests import Client

SYSTEM = "esp"
MERGE_FIELDS = {"first_name": "FNAME", "last_name": "LNAME", "phone": "PHONE"}
HELD = frozenset({*MERGE_FIELDS, "email", "birth_date"})  # the hub attributes the platform holds
_USER = "hub"  # Mailchimp ignores the user name of Basic auth
ADDRESS_NOT_SENT = "the address is not sent: the contract's member PATCH cannot change it; change it by hand"


def subscriber_hash(email: str) -> str:
    """Mailchimp's subscriber hash of an address."""
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


def delete_members(
    base_url: str, api_key: str, list_id: str, member_ids: Iterable[str], *, attempts: int = ATTEMPTS
) -> list[Receipt]:
    """Permanently delete each member (by id); one receipt per distinct id, in order."""
    targets = list(dict.fromkeys(str(m) for m in member_ids))
    if not targets:
        return []
    client = retrying_client(attempts)
    receipts: list[Receipt] = []
    stop = _audience_problem(client, base_url, api_key, list_id)
    for target in targets:
        if stop:
            receipts.append(Receipt(SYSTEM, "delete", target, FAILED, stop))
            continue
        url = _member_url(base_url, list_id, target) + "/actions/delete-permanent"
        response, detail = send(client, "POST", url, (_USER, api_key))
        status = _status(response, done=(200, 204))
        receipts.append(Receipt(SYSTEM, "delete", target, status, detail))
        if response is None or response.status_code == 401:
            stop = f"not sent: {detail}"
    client.session.close()
    return receipts


def update_member(
    base_url: str,
    api_key: str,
    list_id: str,
    member_id: str,
    changes: Mapping[str, Any],
    *,
    attempts: int = ATTEMPTS,
) -> Receipt | None:
    """PATCH the member with the corrected values of the attributes it holds; None if it holds none of them.

    ``changes`` uses the hub's attribute names (first_name, last_name, email, phone, birth_date, ...).
    """
    body = patch_body(changes)
    target = str(member_id)
    if changes.get("email") and not body:
        return Receipt(SYSTEM, "update", target, FAILED, ADDRESS_NOT_SENT)
    if not body:
        return None
    client = retrying_client(attempts)
    try:
        problem = _audience_problem(client, base_url, api_key, list_id)
        if problem:
            return Receipt(SYSTEM, "update", target, FAILED, problem)
        response, detail = send(client, "PATCH", _member_url(base_url, list_id, target), (_USER, api_key), body)
        status = _status(response, done=(200,))
        if status == SENT and changes.get("email"):
            return Receipt(SYSTEM, "update", target, FAILED, f"{detail}; {ADDRESS_NOT_SENT}")
        return Receipt(SYSTEM, "update", target, status, detail)
    finally:
        client.session.close()


def patch_body(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The PATCH body for the hub's attribute changes: merge fields only (an address cannot be changed)."""
    changes = known(changes)
    fields = {MERGE_FIELDS[k]: "" if v is None else str(v) for k, v in changes.items() if k in MERGE_FIELDS}
    if "birth_date" in changes:
        born = as_date(changes["birth_date"])
        fields["BIRTHDAY"] = f"{born:%m/%d}" if born else ""
    return {"merge_fields": fields} if fields else {}


def _member_url(base_url: str, list_id: str, target: str) -> str:
    return f"{base_url.rstrip('/')}/lists/{quote(list_id, safe='')}/members/{quote(target, safe='')}"


def _status(response: Any, done: tuple[int, ...]) -> str:
    if response is not None and response.status_code in done:
        return SENT
    if response is not None and response.status_code == 404:
        return ABSENT
    return FAILED


def _audience_problem(client: Client, base_url: str, api_key: str, list_id: str) -> str:
    """Why no notice can be sent to this audience ('' when it answers as the contract says)."""
    url = f"{base_url.rstrip('/')}/lists/{quote(list_id, safe='')}/members"
    response, detail = send(client, "GET", url, (_USER, api_key), params={"count": 1})
    body = json_or_none(response) if response is not None and response.status_code == 200 else None
    if isinstance(body, dict) and isinstance(body.get("members"), list):
        return ""
    return f"audience not reachable: {detail}"
