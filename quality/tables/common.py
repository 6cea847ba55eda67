"""What the descriptions of the four systems share: the models' base and time fields, the processing texts."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.engines import pandas_engine
from pandera.typing import Series

from quality.contract import Processing

# Times and dates in any ISO 8601 form, naive ones read as UTC: parsed in one vectorised pass, and a
# value that is no time fails on its own row instead of failing the whole column.
Time = Series[pandas_engine.DateTime]
_ISO = {"to_datetime_kwargs": {"format": "ISO8601", "utc": True}, "tz": "UTC"}
ISO_COUNTRY = r"^[A-Z]{2}$"


def time_field(nullable: bool = False) -> object:
    return pa.Field(nullable=nullable, dtype_kwargs=_ISO)


class LandingModel(pa.DataFrameModel):
    """A model checks the contract (required fields, types, value sets), not the content: a typo in a name
    is the matcher's business, a missing customer number or an unparsable date is a broken row. Extra
    columns are allowed so that a system adding a field does not stop the load."""

    class Config:
        coerce = True
        strict = False


OPERATIONS = "customer master data: one record per customer across the retailer's systems"
CONTRACT = "contract (Art. 6(1)(b)) and legitimate interest in accurate customer records (Art. 6(1)(f))"
MIRROR = "as long as the source system holds the record; removed on erasure"
HUB_TEAMS = "the hub's customer service, finance and marketing teams within their access roles"


def customer_record(what: str, source: str) -> Processing:
    """How the hub holds a system's own record of a person."""
    return Processing(what, OPERATIONS, CONTRACT, MIRROR, source, HUB_TEAMS)


def purchase_history(what: str, source: str) -> Processing:
    return Processing(what, "purchase history and segments", CONTRACT, MIRROR, source, HUB_TEAMS)
