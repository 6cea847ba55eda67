"""HTTP plumbing shared by the two API connectors: bounded patience, paging, answers checked, errors without data.

Patience. dlt's ``RESTClient`` takes its timeout and retries from the ``requests`` session it is
given (its ``config`` only decides whether error bodies are shown), so ``HttpPolicy`` builds that
session with dlt's retrying ``Client``: 429 (honouring ``Retry-After``), 5xx, refused or dropped
connections and timeouts are retried with exponential backoff, and every attempt has a connect and
a read timeout. One request therefore gives up after at most ``HttpPolicy.worst_case_seconds``
(260 s by default: 6 attempts of at most 5 s to connect and 30 s without a byte, and 5 waits of at
most 10 s), and the step fails then: an API that stops answering fails the step within that time.
(The read timeout bounds silence, not a whole answer: a server trickling a byte every few seconds
is not cut off.)

Answers. A page must be the contract's envelope: a JSON list (WooCommerce) or a JSON object holding
a list under a known key (Mailchimp). Anything else (an HTML login page answered with 200, an object
where a list belongs) means the whole answer cannot be trusted, paging included, so the step fails
naming the system, the endpoint's path and what arrived. An element of a good list that is not a
JSON object is one broken record in a sound answer, like a broken CSV line: it becomes a
``Rejected`` that the landing step quarantines, and the rest lands.

Errors name the system, the method and the endpoint's path, never the query string, a response body
or a credential: those may hold personal data or secrets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Request, Response

from quality.quarantine import Rejected

BATCH_ROWS = 5_000
NOT_AN_OBJECT = {"column": "*", "check": "a JSON object"}
_RETRIED_STATUSES = (429, *range(500, 600))
_JSON_KINDS = {
    dict: "a JSON object",
    list: "a JSON list",
    str: "a JSON string",
    int: "a JSON number",
    float: "a JSON number",
    bool: "JSON true or false",
    type(None): "JSON null",
}


@dataclass(frozen=True)
class HttpPolicy:
    """How patient a connector is: attempts per request, timeouts per attempt, waits between attempts."""

    attempts: int = 6
    connect_timeout: float = 5
    read_timeout: float = 30  # the longest silence while waiting for the next bytes of an answer
    backoff: float = 0.5  # waits grow 0.5, 1, 2, 4... s
    max_delay: float = 10  # no wait is longer, whatever Retry-After asks

    @property
    def worst_case_seconds(self) -> float:
        """The longest one request can take to fail when the API stops answering."""
        return self.attempts * (self.connect_timeout + self.read_timeout) + (self.attempts - 1) * self.max_delay

    def client(self) -> Client:
        return Client(
            request_timeout=(self.connect_timeout, self.read_timeout),
            raise_for_status=False,
            request_max_attempts=self.attempts,
            request_backoff_factor=self.backoff,
            request_max_retry_delay=self.max_delay,
        )


class ContractError(RuntimeError):
    """An answer that does not follow the system's contract (the message says what arrived)."""


class ApiError(RuntimeError):
    """A system's API failed or broke its contract; the message names system and endpoint, never data."""


def page_items(response: Response, key: str) -> list[Any]:
    """The list the contract promises in ``response`` (the body itself for ``key`` "$"), objects as they are
    and every other element as a ``Rejected``; an answer of any other shape is a ``ContractError``."""
    expected = "a JSON list" if key == "$" else f"a JSON object with a {key!r} list"
    try:
        body = response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "a body without a content type"
        raise ContractError(f"answered {kind}, not {expected}") from None
    items = body if key == "$" else body.get(key) if isinstance(body, dict) else None
    if isinstance(items, list):
        where = urlsplit(response.url).path
        return [i if isinstance(i, dict) else Rejected({"endpoint": where, "item": i}, [NOT_AN_OBJECT]) for i in items]
    if isinstance(body, dict) and key != "$":
        raise ContractError(f"answered a JSON object without a {key!r} list")
    raise ContractError(f"answered {_JSON_KINDS[type(body)]}, not {expected}")


class _CheckedClient(RESTClient):
    """dlt's REST client, with pages checked against the contract's envelope instead of guessed at."""

    def extract_response(self, response: Response, data_selector: Any) -> list[Any]:
        return page_items(response, str(data_selector))


class Api:
    """One system's REST API, read page by page under an ``HttpPolicy``."""

    def __init__(self, system: str, base_url: str, user: str, password: str, policy: HttpPolicy) -> None:
        self.system = system
        self.policy = policy
        self.root = urlsplit(base_url).path.rstrip("/")
        self.client = _CheckedClient(
            base_url=base_url, auth=HttpBasicAuth(user, password), session=policy.client().session
        )

    def pages(
        self, path: str, paginator: BasePaginator, params: dict[str, Any] | None = None, key: str = "$"
    ) -> Iterator[list[Any]]:
        """The pages of ``GET path``; any failure is an ``ApiError`` naming the system and the endpoint."""
        try:
            yield from self.client.paginate(path, params=params, paginator=paginator, data_selector=key)
        except (ContractError, requests.RequestException) as error:
            raise ApiError(f"{self.system}: GET {self.root}/{path} {self._reason(error)}") from None

    def _reason(self, error: Exception) -> str:
        tries = f"{self.policy.attempts} attempts"
        if isinstance(error, ContractError):
            return str(error)
        if isinstance(error, requests.HTTPError) and error.response is not None:
            status = error.response.status_code
            if status == 401:
                return "refused the credentials (HTTP 401)"
            return f"answered HTTP {status}" + (f" ({tries})" if status in _RETRIED_STATUSES else "")
        if isinstance(error, requests.ConnectTimeout):
            return f"accepted no connection within {self.policy.connect_timeout:g} s ({tries})"
        if isinstance(error, requests.ReadTimeout):
            return f"did not answer within {self.policy.read_timeout:g} s ({tries})"
        if isinstance(error, requests.ConnectionError):
            return f"could not be reached ({tries})"
        return f"failed ({type(error).__name__})"


class HeaderPagesPaginator(BasePaginator):
    """Page-number paging that stops at the page count a response header announces (WooCommerce)."""

    def __init__(self, total_pages_header: str = "X-WP-TotalPages") -> None:
        super().__init__()
        self.header = total_pages_header
        self.page = 1

    def init_request(self, request: Request) -> None:
        self.page = 1
        self.update_request(request)

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        total = response.headers.get(self.header)
        if total is None or not total.strip().isdigit():
            raise ContractError(f"answered without a numeric {self.header} header")
        self.page += 1
        self._has_next_page = bool(data) and self.page <= int(total)

    def update_request(self, request: Request) -> None:
        request.params = {**(request.params or {}), "page": self.page}


class TotalItemsPaginator(BasePaginator):
    """Offset/count paging against a ``total_items`` field in the body (Mailchimp)."""

    def __init__(self, count: int, total_key: str = "total_items") -> None:
        super().__init__()
        self.count = count
        self.total_key = total_key
        self.offset = 0

    def init_request(self, request: Request) -> None:
        self.offset = 0
        self.update_request(request)

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        total = response.json().get(self.total_key)  # page_items has checked that the body is an object
        if not isinstance(total, int):
            raise ContractError(f"answered without an integer {self.total_key}")
        self.offset += self.count
        self._has_next_page = bool(data) and self.offset < total

    def update_request(self, request: Request) -> None:
        request.params = {**(request.params or {}), "offset": self.offset, "count": self.count}


def in_batches(pages: Iterable[list[Any]], rows: int = BATCH_ROWS) -> Iterator[list[Any]]:
    """Pages regrouped into batches of about ``rows``: validation and loading cost per batch, not per row."""
    batch: list[Any] = []
    for page in pages:
        batch.extend(page)
        if len(batch) >= rows:
            yield batch
            batch = []
    if batch:
        yield batch
