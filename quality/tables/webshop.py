"""The webshop's tables, as the contract names them: customers (accounts) and orders (WooCommerce)."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from quality.contract import Condition, LandedTable, Link, Records, Sales
from quality.tables.common import LandingModel, Time, customer_record, purchase_history, time_field


class WebshopCustomer(LandingModel):
    id: Series[int] = pa.Field(gt=0)
    date_created_gmt: Time = time_field()
    date_modified_gmt: Time = time_field()
    email: Series[str] = pa.Field(nullable=True)
    first_name: Series[str] = pa.Field(nullable=True)
    last_name: Series[str] = pa.Field(nullable=True)
    newsletter_opt_in: Series[str] = pa.Field(isin=["yes", "no"], nullable=True)
    newsletter_opt_in_at: Time = time_field(nullable=True)


class WebshopOrder(LandingModel):
    id: Series[int] = pa.Field(gt=0)
    customer_id: Series[int] = pa.Field(ge=0)
    status: Series[str] = pa.Field(isin=["completed", "processing", "cancelled", "refunded"])
    currency: Series[str] = pa.Field(isin=["EUR"])
    total: Series[float]
    date_created_gmt: Time = time_field()
    date_modified_gmt: Time = time_field()


_BILLING = {
    "street": (("billing", "address_1"),),
    "postal_code": (("billing", "postcode"),),
    "city": (("billing", "city"),),
}
GUEST = Condition(("customer_id",), 0)
# An account's order belongs to the account; a guest checkout is a source record of its own ('order:<id>'),
# its billing block the only identity it carries.
ACCOUNT_OF_ORDER = Link("webshop", ("customer_id",), unless=GUEST)
GUEST_ORDER = Link("webshop", ("id",), prefix="order:", when=GUEST)
_ADDRESS_COLUMNS = ("address_1", "address_2")
_LOCALITY_COLUMNS = ("city", "state", "postcode", "country")

CUSTOMERS = LandedTable(
    name="webshop_customer",
    system="webshop",
    model=WebshopCustomer,
    primary_key="id",
    categories={
        "record_key": ("id", "username"),
        "name": (
            "first_name",
            "last_name",
            "shipping__first_name",
            "shipping__last_name",
            "shipping__company",
            "billing__first_name",
            "billing__last_name",
            "billing__company",
        ),
        "email": ("email", "billing__email"),
        "phone": ("billing__phone",),
        "street": tuple(f"{block}__{c}" for block in ("shipping", "billing") for c in _ADDRESS_COLUMNS),
        "locality": tuple(f"{block}__{c}" for block in ("shipping", "billing") for c in _LOCALITY_COLUMNS),
        "consent": ("newsletter_opt_in", "newsletter_opt_in_at"),
        "profile": ("role", "is_paying_customer"),
        "raw": ("meta_data",),
        "technical": ("date_created_gmt", "date_modified_gmt"),
    },
    records=(
        Records(
            Link("webshop", ("id",)),
            fields={
                "first_name": (("first_name",), ("billing", "first_name")),
                "last_name": (("last_name",), ("billing", "last_name")),
                "email": (("email",), ("billing", "email")),
                "phone": (("billing", "phone"),),
                **_BILLING,
            },
            updated_at=(("date_modified_gmt",),),
        ),
    ),
    consent=("id", "newsletter_opt_in", "newsletter_opt_in_at"),
    processing=customer_record("webshop account", "webshop"),
)

ORDERS = LandedTable(
    name="webshop_order",
    system="webshop",
    model=WebshopOrder,
    primary_key="id",
    categories={
        "record_key": ("customer_id",),
        "name": ("billing__first_name", "billing__last_name", "billing__company"),
        "email": ("billing__email",),
        "phone": ("billing__phone",),
        "street": tuple(f"billing__{c}" for c in _ADDRESS_COLUMNS),
        "locality": tuple(f"billing__{c}" for c in _LOCALITY_COLUMNS),
        "transaction": (
            "id",
            "parent_id",
            "status",
            "currency",
            "total",
            "line_items",
            "date_created_gmt",
            "date_modified_gmt",
        ),
    },
    records=(
        Records(
            GUEST_ORDER,
            fields={
                "first_name": (("billing", "first_name"),),
                "last_name": (("billing", "last_name"),),
                "email": (("billing", "email"),),
                "phone": (("billing", "phone"),),
                **_BILLING,
            },
            updated_at=(("date_modified_gmt",),),
        ),
    ),
    belongs=(ACCOUNT_OF_ORDER,),
    # 'completed' and 'processing' are sales; a 'refunded' order is a sale and its refund (revenue nets
    # to nothing, the total is a return); 'cancelled' is no purchase.
    sales=Sales(
        (ACCOUNT_OF_ORDER, GUEST_ORDER),
        amount=("total",),
        at=("date_created_gmt",),
        status=("status",),
        kinds={"completed": ("sale",), "processing": ("sale",), "refunded": ("sale", "return")},
        items=("line_items",),
    ),
    processing=purchase_history("webshop orders (billing details, items)", "webshop"),
)

TABLES = (CUSTOMERS, ORDERS)
