"""Pandera models of the landing tables: what the contract promises about each row.

A model checks the contract (required fields, types, value sets), not the content: a typo in a
name is the matcher's business, a missing customer number or an unparsable date is a broken row.
Extra columns are allowed so that a system adding a field does not stop the load.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.engines import pandas_engine
from pandera.typing import Series

ISO_COUNTRY = r"^[A-Z]{2}$"
# Times and dates in any ISO 8601 form, naive ones read as UTC: parsed in one vectorised pass, and a
# value that is no time fails on its own row instead of failing the whole column.
Time = Series[pandas_engine.DateTime]
_ISO = {"to_datetime_kwargs": {"format": "ISO8601", "utc": True}, "tz": "UTC"}


def time_field(nullable: bool = False) -> object:
    return pa.Field(nullable=nullable, dtype_kwargs=_ISO)


class _Landing(pa.DataFrameModel):
    class Config:
        coerce = True
        strict = False


class ErpCustomer(_Landing):
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


class ErpInvoice(_Landing):
    invoice_no: Series[str] = pa.Field(str_length={"min_value": 1})
    customer_no: Series[str] = pa.Field(str_length={"min_value": 1})
    invoice_date: Time = time_field()
    total_eur: Series[float]
    status: Series[str] = pa.Field(isin=["open", "paid", "credited"])
    updated_at: Time = time_field()


class WebshopCustomer(_Landing):
    id: Series[int] = pa.Field(gt=0)
    date_created_gmt: Time = time_field()
    date_modified_gmt: Time = time_field()
    email: Series[str] = pa.Field(nullable=True)
    first_name: Series[str] = pa.Field(nullable=True)
    last_name: Series[str] = pa.Field(nullable=True)
    newsletter_opt_in: Series[str] = pa.Field(isin=["yes", "no"], nullable=True)
    newsletter_opt_in_at: Time = time_field(nullable=True)


class WebshopOrder(_Landing):
    id: Series[int] = pa.Field(gt=0)
    customer_id: Series[int] = pa.Field(ge=0)
    status: Series[str] = pa.Field(isin=["completed", "processing", "cancelled", "refunded"])
    currency: Series[str] = pa.Field(isin=["EUR"])
    total: Series[float]
    date_created_gmt: Time = time_field()
    date_modified_gmt: Time = time_field()


class LoyaltyMember(_Landing):
    jasennumero: Series[str] = pa.Field(str_length={"min_value": 1})
    etunimi: Series[str] = pa.Field(nullable=True)
    sukunimi: Series[str] = pa.Field(nullable=True)
    syntymaaika: Time = time_field(nullable=True)
    puhelin: Series[str] = pa.Field(nullable=True)
    sahkoposti: Series[str] = pa.Field(nullable=True)
    postinumero: Series[str] = pa.Field(nullable=True)
    liittynyt: Time = time_field()
    taso: Series[str] = pa.Field(isin=["perus", "hopea", "kulta"])
    pisteet: Series[int] = pa.Field(ge=0)
    markkinointilupa: Series[str] = pa.Field(isin=["K", "E"])
    lupa_muutettu: Time = time_field(nullable=True)


class LoyaltyPurchase(_Landing):
    purchase_id: Series[str]
    jasennumero: Series[str] = pa.Field(str_length={"min_value": 1})
    myymala: Series[str] = pa.Field(nullable=True)
    aika: Time = time_field()
    summa: Series[float]


class EspMember(_Landing):
    id: Series[str] = pa.Field(str_matches=r"^[0-9a-f]{32}$")
    email_address: Series[str] = pa.Field(str_contains="@")
    status: Series[str] = pa.Field(isin=["subscribed", "unsubscribed", "cleaned", "pending"])
    last_changed: Time = time_field()


class EspCampaign(_Landing):
    id: Series[str] = pa.Field(str_length={"min_value": 1})
    send_time: Time = time_field()


class EspEmailActivity(_Landing):
    campaign_id: Series[str] = pa.Field(str_length={"min_value": 1})
    email_address: Series[str] = pa.Field(str_contains="@")
    action: Series[str] = pa.Field(isin=["open", "click", "bounce"])
    timestamp: Time = time_field()


LANDING_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "erp_customer": ErpCustomer,
    "erp_invoice": ErpInvoice,
    "webshop_customer": WebshopCustomer,
    "webshop_order": WebshopOrder,
    "loyalty_member": LoyaltyMember,
    "loyalty_purchase": LoyaltyPurchase,
    "esp_member": EspMember,
    "esp_campaign": EspCampaign,
    "esp_email_activity": EspEmailActivity,
}
"""The model of every landing table, by table name."""
