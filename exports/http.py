"""Sending a notice over HTTP: bounded retries of transient failures, answers summarised without data.

dlt's retrying ``Client`` (the engine under the connectors' REST client) retries 429 (waiting as
long as ``Retry-After`` says), every 5xx and connection errors, with exponential backoff, for any
method. That suits notices because each one is idempotent: a retried delete finds nothing and is
``absent``, a retried update sets the same values. After the last attempt it hands back the last
answer instead of raising, so that the answer becomes a receipt. Response bodies may echo personal
data, so a summary keeps only the status, the tool's error code and its answer id.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from dlt.sources.helpers.requests import Client


ATTEMPTS = 6
BACKOFF_SECONDS = 0.5
MAX_DELAY_SECONDS = 10
TIMEOUT_SECONDS = 30
_TOKEN = re.compile(r"^[\w .:-]{1,80}$")


class ToolError(RuntimeError):
    """A tool answered a read in a way the contract does not allow; nothing may be acted on from it."""


def retrying_client(attempts: int = ATTEMPTS) -> Client:
    """At most ``attempts`` tries per request; waits grow 0.5, 1, 2... s up to 10 s (or as Retry-After says).

    dlt is imported here, not with the module: it takes half a second, which a request that sends nothing
    (an access report) should not pay."""
    from dlt.sources.helpers.requests import Client

    return Client(
        request_timeout=TIMEOUT_SECONDS,
        raise_for_status=False,
        request_max_attempts=max(1, attempts),
        request_backoff_factor=BACKOFF_SECONDS,
        request_max_retry_delay=MAX_DELAY_SECONDS,
    )


def send(
    client: Client,
    method: str,
    url: str,
    auth: tuple[str, str],
    body: Any = None,
    params: dict[str, Any] | None = None,
) -> tuple[requests.Response | None, str]:
    """The tool's last answer (None when it never answered) and a summary of it fit for a receipt."""
    try:
        response = client.request(method, url, auth=auth, json=body, params=params)
    except requests.RequestException as error:
        return None, f"no answer ({type(error).__name__})"
    return response, describe(response)


def describe(response: requests.Response) -> str:
    """``HTTP <status>`` with the tool's error code and answer id when it gave them; no body text."""
    if response.status_code == 401:
        return "HTTP 401: the tool refused the credentials"
    parts = [f"HTTP {response.status_code}"]
    answer = json_or_none(response)
    if isinstance(answer, dict) and response.status_code >= 400:
        parts += [token(answer.get("code")), token(answer.get("title")), token(answer.get("instance"))]
    parts.append(token(response.headers.get("X-Request-Id")))
    return " ".join(part for part in parts if part)


def json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def token(value: Any) -> str:
    """A short code or id from the tool, or nothing when it looks like free text."""
    return value if isinstance(value, str) and _TOKEN.match(value) and "@" not in value else ""
