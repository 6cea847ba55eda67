"""The ERP: customers and invoices read with SQL, incrementally on ``updated_at``."""

from __future__ import annotations

import dlt
from dlt.sources.sql_database import sql_table

from quality.suppression import Suppression
from sources.landing import landed

SYSTEM = "erp"
_NEWEST_WINS = {"updated_at": {"dedup_sort": "desc"}}


@dlt.source(name=SYSTEM)
def erp(credentials: str = dlt.secrets.value, chunk_size: int = 10_000, suppression: Suppression | None = None):
    """``credentials`` is the ERP's SQLAlchemy URL; tables are reflected at extraction, not import."""

    def table(name: str):
        return sql_table(
            credentials=credentials,
            table=name,
            incremental=dlt.sources.incremental("updated_at"),
            chunk_size=chunk_size,
            defer_table_reflect=True,
            backend="sqlalchemy",
        ).with_name(f"{SYSTEM}_{name}_raw")

    return [
        landed(
            table("customer"),
            system=SYSTEM,
            suppression=suppression,
            table="erp_customer",
            primary_key="customer_no",
            columns=_NEWEST_WINS,
        ),
        landed(
            table("invoice"),
            system=SYSTEM,
            suppression=suppression,
            table="erp_invoice",
            primary_key="invoice_no",
            columns=_NEWEST_WINS,
        ),
    ]
