"""One write to a tool: sent through the hub's retrying client, its tries counted, its answer sorted.

Retrying is ``exports.http``'s: dlt's client retries 429 (waiting as ``Retry-After`` says), every 5xx,
timeouts and dropped connections with exponential backoff. What is left after the last try falls in
one of four outcomes, because what happens next differs:

- ``sent``: the tool took it;
- ``missing``: 404, the tool does not hold the record addressed (for a removal, the goal is reached);
- ``rejected``: another 4xx, which no retry can fix (kept with its reason, not retried in this run);
- ``failed``: 429 or 5xx after every try, no answer, or refused credentials (401, 403: Mailchimp also
  answers a bare 403 under load): the item stays pending for the next run.

The number of tries is counted per thread by a transport adapter mounted on each thread's session
(the client keeps one session per thread), so that the sync log can say how hard each write was.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from exports.http import ATTEMPTS, describe, retrying_client

SENT, MISSING, REJECTED, FAILED = "sent", "missing", "rejected", "failed"
_NOT_THE_ITEMS_FAULT = (401, 403)  # credentials, or Mailchimp under load: the item itself is fine


@dataclass(frozen=True)
class Answer:
    """How one write ended: outcome, tries, and a summary without values (status, error code, answer id)."""

    status: str
    attempts: int
    detail: str
    body: Any = field(default=None, repr=False)  # the decoded answer, for per-item results of a batch

    @property
    def stops(self) -> bool:
        """Whether nothing more should be sent to this tool in this run (it refuses the hub's credentials)."""
        return self.detail.startswith("HTTP 401")


class _CountingAdapter(HTTPAdapter):
    """Counts every try a thread makes, answered or not."""

    def __init__(self, pool_size: int) -> None:
        super().__init__(pool_maxsize=pool_size)
        self.tries = threading.local()

    def send(self, request, **kwargs):
        self.tries.count = getattr(self.tries, "count", 0) + 1
        return super().send(request, **kwargs)


class Transport:
    """The retrying client, shared by worker threads, each with its own session and try count."""

    def __init__(self, attempts: int = ATTEMPTS, pool_size: int = 10) -> None:
        self.client = retrying_client(attempts)
        self.adapter = _CountingAdapter(pool_size)
        self._mounted = threading.local()

    def write(
        self,
        method: str,
        url: str,
        auth: tuple[str, str],
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Answer:
        session = self.client.session
        if getattr(self._mounted, "session", None) is not session:
            session.mount("http://", self.adapter)
            session.mount("https://", self.adapter)
            self._mounted.session = session
        self.adapter.tries.count = 0
        try:
            response = session.request(method, url, auth=auth, json=body, params=params)
        except requests.RequestException as error:
            return Answer(FAILED, self.adapter.tries.count, f"no answer ({type(error).__name__})")
        return Answer(_outcome(response.status_code), self.adapter.tries.count, describe(response), _json(response))

    def close(self) -> None:
        self.adapter.close()


def _outcome(status: int) -> str:
    if 200 <= status < 300:
        return SENT
    if status == 404:
        return MISSING
    if status in _NOT_THE_ITEMS_FAULT or status == 429 or status >= 500:
        return FAILED
    return REJECTED


def _json(response: requests.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None
