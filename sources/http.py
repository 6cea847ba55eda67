"""HTTP plumbing shared by the two API connectors: retries, paging, and errors without data.

dlt's REST client already retries 429 and 5xx (honouring ``Retry-After``) with exponential
backoff; here we only choose how patient it is. Error messages never carry response bodies,
which may hold personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from dlt.common.configuration.specs import RuntimeConfiguration
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Request, Response

DEFAULT_ATTEMPTS = 8
BATCH_ROWS = 5_000


def rest_client(
    base_url: str, user: str, password: str, attempts: int = DEFAULT_ATTEMPTS, backoff: float = 0.5
) -> RESTClient:
    """A client that retries transient failures ``attempts`` times before giving up."""
    config = RuntimeConfiguration(
        request_max_attempts=attempts,
        request_backoff_factor=backoff,
        request_max_retry_delay=30,
    )
    return RESTClient(base_url=base_url, auth=HttpBasicAuth(user, password), config=config)


class ContractError(RuntimeError):
    """A response that does not follow the system's contract."""


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
            raise ContractError(f"response without a numeric {self.header} header")
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
        total = response.json().get(self.total_key)
        if not isinstance(total, int):
            raise ContractError(f"response without an integer {self.total_key}")
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
