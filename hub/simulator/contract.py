"""What the contract page (shared/reference-systems.md) names, and the strict dialect that serves only that.

The simulator speaks more of WooCommerce and Mailchimp than the page does, so a client can pass
against it while relying on something an independent implementation of the page need not have.
In strict mode the two APIs read only the query parameters (and PATCH fields) named here,
ignoring any others as many servers do, and cut every document they answer to the fields named
here; their extra routes are not registered at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.simulator import jsondoc

# A document's contracted fields: a dict of field -> shape of its value, [shape] for a list of them,
# None for a value served whole.
Shape = dict[str, Any] | list[Any] | None

WOO_LISTING_QUERY = frozenset({"page", "per_page", "modified_after", "orderby", "order"})
WOO_ORDERINGS = ("id",)
MEMBERS_QUERY = frozenset({"count", "offset", "since_last_changed"})
CAMPAIGNS_QUERY = frozenset({"since_send_time"})
EMAIL_ACTIVITY_QUERY = frozenset({"count", "offset"})
MEMBER_PATCH = frozenset({"merge_fields"})


def _fields(*names: str, **nested: Shape) -> dict[str, Shape]:
    """A shape: the named fields served whole, and the nested ones by their own shapes."""
    return dict.fromkeys(names) | nested


_ADDRESS = ("first_name", "last_name", "address_1", "address_2", "city", "postcode", "country")
_BILLING = _fields(*_ADDRESS, "email", "phone")
CUSTOMER = _fields(
    "id",
    "date_created_gmt",
    "date_modified_gmt",
    "email",
    "first_name",
    "last_name",
    billing=_BILLING,
    shipping=_fields(*_ADDRESS),
    meta_data=[_fields("key", "value")],
)
ORDER = _fields(
    "id",
    "customer_id",
    "status",
    "currency",
    "total",
    "date_created_gmt",
    "date_modified_gmt",
    billing=_BILLING,
    line_items=[_fields("product_id", "name", "quantity", "total")],
)
MEMBER = _fields(
    "id",
    "email_address",
    "status",
    "timestamp_opt",
    "last_changed",
    "ip_opt",
    merge_fields=_fields("FNAME", "LNAME", "PHONE", "BIRTHDAY"),
    marketing_permissions=[_fields("marketing_permission_id", "text", "enabled")],
    tags=[_fields("id", "name")],
)
CAMPAIGN = _fields("id", "send_time")
EMAIL_ACTIVITY = _fields("email_address", activity=[_fields("action", "timestamp")])


def project(value: Any, shape: Shape) -> Any:
    """`value` with only the fields `shape` names (at every depth)."""
    if isinstance(shape, dict) and isinstance(value, dict):
        return {key: project(value[key], inner) for key, inner in shape.items() if key in value}
    if isinstance(shape, list) and isinstance(value, list):
        return [project(item, shape[0]) for item in value]
    return value


@dataclass(frozen=True)
class Dialect:
    """How much of the real product a simulated API speaks: all it simulates, or (strict) the page alone."""

    strict: bool = False

    def read(self, given: Mapping[str, Any], contracted: frozenset[str]) -> Mapping[str, Any]:
        """The query parameters or body fields a handler acts on: all, or (strict) only the contracted ones."""
        return {key: value for key, value in given.items() if key in contracted} if self.strict else given

    def document(self, doc: dict[str, Any], shape: Shape) -> dict[str, Any]:
        """A document as answered: whole, or (strict) cut to the contracted fields."""
        return project(doc, shape) if self.strict else doc

    def documents(self, docs: list[str], shape: Shape) -> list[str]:
        """Stored JSON documents as answered (decoded and re-encoded only when they are cut)."""
        return [jsondoc.dumps(project(jsondoc.loads(doc), shape)) for doc in docs] if self.strict else docs
