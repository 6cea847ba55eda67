"""Audiences as member tags on the email platform (Mailchimp Marketing API v3), the contract's tags call only.

``POST /3.0/lists/{list}/members/{hash}/tags`` with ``{"tags": [{"name": ..., "status": "active" |
"inactive"}]}``, answered 204: one request per member, carrying every tag change the member needs, so
a member's changes land together. Setting a tag active or inactive is idempotent, so a write sent again
after a crash changes nothing. Only the tags named are touched: a member's other tags, whoever set
them, stay as they are.

The platform allows 10 requests in flight; ``in_flight`` threads each wait for their answer (and
their retries) before the next. Because a wrong list id answers 404 for every member, which would read
as "member gone", the audience is probed first with the contract's member listing (one member).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from exports.http import ATTEMPTS
from exports.publishing.pool import deliver
from exports.publishing.transport import FAILED, SENT, Answer, Transport

_USER = "hub"  # the platform ignores the user name of Basic auth


@dataclass(frozen=True)
class TagWrite:
    """The tag changes of one member: (tag, active) pairs."""

    member: str = field(repr=False)  # the member id (subscriber hash): the tool's key of a person
    tags: tuple[tuple[str, bool], ...]

    @property
    def body(self) -> dict:
        return {"tags": [{"name": name, "status": "active" if on else "inactive"} for name, on in self.tags]}


def send_tags(
    base_url: str,
    api_key: str,
    list_id: str,
    writes: Iterable[TagWrite],
    confirm: Callable[[list[tuple[str, Answer]]], None],
    *,
    in_flight: int = 10,
    attempts: int = ATTEMPTS,
) -> None:
    """Send every member's tag changes; ``confirm`` gets (member id, answer) pairs as they come back."""
    writes = list(writes)
    if not writes:
        return
    transport = Transport(attempts, pool_size=in_flight)
    auth = (_USER, api_key)
    root = f"{base_url.rstrip('/')}/lists/{quote(list_id, safe='')}/members"
    try:
        problem = _audience_problem(transport, root, auth)
        if problem:
            confirm([(w.member, Answer(FAILED, 0, problem)) for w in writes])
            return

        def send(write: TagWrite) -> list[tuple[str, Answer]]:
            url = f"{root}/{quote(write.member, safe='')}/tags"
            return [(write.member, transport.write("POST", url, auth, write.body))]

        deliver(writes, send, confirm, workers=in_flight, keys=lambda w: [w.member])
    finally:
        transport.close()


def _audience_problem(transport: Transport, members_url: str, auth: tuple[str, str]) -> str:
    """Why no tag can be set in this audience ('' when its member listing answers as the contract says)."""
    answer = transport.write("GET", members_url, auth, params={"count": 1})
    if answer.status == SENT and isinstance(answer.body, dict) and isinstance(answer.body.get("members"), list):
        return ""
    return f"not sent: the audience did not answer its member listing ({answer.detail})"
