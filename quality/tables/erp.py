"""The ERP's tables, as the contract names them: customers and invoices (read with SQL)."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from quality.contract import LandedTable, Link, Processing, Records, Sales
from quality.tables.common import ISO_COUNTRY, LandingModel, Time, customer_record, time_field


class ErpCustomer(LandingModel):
    customer_no: Series[str] = pa.Field(str_length={"min_value": 1})
    first_name: Series[str] = pa.Field(str_length={"min_value": 1})
    last_name: Series[str] = pa.Field(str_length={"min_value": 1})
    street_address: Series[str] = pa.Field(nullable=True)
    postal_code: Series[str] = pa.Field(nullable=True)
    city: Series[str] = pa.Field(nullable=True)
    country_code: Series[str] = pa.Field(str_matches=ISO_COUNTRY)
    phone: Series[str] = pa.Field(nullable=True)
    email: Series[str] = pa.Field(nullable=True)
    birth_date: Time = time_field(nullable=True)
    marketing_ban: Series[bool]
    created_at: Time = time_field()
    updated_at: Time = time_field()
    is_deleted: Series[bool]


class ErpInvoice(LandingModel):
    invoice_no: Series[str] = pa.Field(str_length={"min_value": 1})
    customer_no: Series[str] = pa.Field(str_length={"min_value": 1})
    invoice_date: Time = time_field()
    total_eur: Series[float]
    status: Series[str] = pa.Field(isin=["open", "paid", "credited"])
    updated_at: Time = time_field()


CUSTOMER = Link("erp", ("customer_no",))

CUSTOMERS = LandedTable(
    name="erp_customer",
    system="erp",
    model=ErpCustomer,
    primary_key="customer_no",
    categories={
        "record_key": ("customer_no",),
        "name": ("first_name", "last_name"),
        "email": ("email",),
        "phone": ("phone",),
        "birth": ("birth_date",),
        "street": ("street_address",),
        "locality": ("postal_code", "city", "country_code"),
        "consent": ("marketing_ban",),
        "technical": ("created_at", "updated_at", "is_deleted"),
    },
    records=(
        Records(
            CUSTOMER,
            fields={
                "first_name": (("first_name",),),
                "last_name": (("last_name",),),
                "email": (("email",),),
                "phone": (("phone",),),
                "birth_date": (("birth_date",),),
                "street": (("street_address",),),
                "postal_code": (("postal_code",),),
                "city": (("city",),),
            },
            updated_at=(("updated_at",),),
            soft_deleted=("is_deleted",),
        ),
    ),
    consent=("customer_no", "marketing_ban", "updated_at", "is_deleted"),
    processing=customer_record("customer record as the ERP holds it", "ERP"),
)

INVOICES = LandedTable(
    name="erp_invoice",
    system="erp",
    model=ErpInvoice,
    primary_key="invoice_no",
    categories={
        "record_key": ("customer_no",),
        "transaction": ("invoice_no", "invoice_date", "total_eur", "status"),
        "technical": ("updated_at",),
    },
    belongs=(CUSTOMER,),
    # 'open' and 'paid' are sales; a 'credited' invoice is a credit note (negative total): a return.
    sales=Sales(
        (CUSTOMER,),
        amount=("total_eur",),
        at=("invoice_date",),
        status=("status",),
        kinds={"open": ("sale",), "paid": ("sale",), "credited": ("return",)},
    ),
    retained=("customer_no",),
    portable=False,  # the retailer's bookkeeping documents, not data the person provided
    processing=Processing(
        "invoices",
        "bookkeeping",
        "legal obligation (Art. 6(1)(c), Accounting Act)",
        "10 years after the financial year; pseudonymised and restricted after an erasure",
        "ERP",
        "finance",
    ),
)

TABLES = (CUSTOMERS, INVOICES)
