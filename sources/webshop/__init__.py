"""The webshop: WooCommerce REST API v3 customers and orders, incremental on modification time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt

from sources.http import Api, HeaderPagesPaginator, HttpPolicy, in_batches
from sources.landing import Screen, landed
from sources.webshop.helpers import with_newsletter_fields

SYSTEM = "webshop"
API_PATH = "/wp-json/wc/v3"
MAX_PER_PAGE = 100
_TIMES = {
    "date_created_gmt": {"data_type": "timestamp"},
    "date_modified_gmt": {"data_type": "timestamp", "dedup_sort": "desc"},
}


@dlt.source(name=SYSTEM)
def webshop(
    base_url: str = dlt.config.value,
    consumer_key: str = dlt.secrets.value,
    consumer_secret: str = dlt.secrets.value,
    per_page: int = MAX_PER_PAGE,
    http: HttpPolicy = HttpPolicy(),
    screen: Screen | None = None,
):
    """``base_url`` is the shop's root; the API path is added here.

    The cursors include rows without a modification time (and list elements that are not objects)
    instead of failing on them, so that validation quarantines them with everything else that broke.
    """
    api = Api(SYSTEM, base_url.rstrip("/") + API_PATH, consumer_key, consumer_secret, http)

    def listing(path: str, modified: Any) -> Iterator[list[dict[str, Any]]]:
        params = {"per_page": min(per_page, MAX_PER_PAGE), "orderby": "id", "order": "asc"}
        if modified.start_value:
            params["modified_after"] = modified.start_value
        yield from in_batches(api.pages(path, HeaderPagesPaginator(), params))

    @dlt.resource(name="webshop_customer_raw", primary_key="id")
    def customers(modified=dlt.sources.incremental("date_modified_gmt", on_cursor_value_missing="include")):
        yield from listing("customers", modified)

    @dlt.resource(name="webshop_order_raw", primary_key="id")
    def orders(modified=dlt.sources.incremental("date_modified_gmt", on_cursor_value_missing="include")):
        yield from listing("orders", modified)

    return [
        landed(
            customers().add_map(with_newsletter_fields),
            system=SYSTEM,
            screen=screen,
            table="webshop_customer",
            primary_key="id",
            columns={
                **_TIMES,
                "meta_data": {"data_type": "json"},
                "newsletter_opt_in_at": {"data_type": "timestamp"},
            },
        ),
        landed(
            orders(),
            system=SYSTEM,
            screen=screen,
            table="webshop_order",
            primary_key="id",
            columns={**_TIMES, "line_items": {"data_type": "json"}, "total": {"data_type": "decimal"}},
        ),
    ]
