"""The ERP: customers and invoices read with SQL, incrementally on ``updated_at``.

An ERP that cannot be reached fails the step with ``ErpUnreachable``, naming the database's
backend, host and database but never the URL's user, password or query. SQLAlchemy keeps the
driver's error as its cause; drivers name the host and port they tried, never a password.
"""

from __future__ import annotations

import dlt
import sqlalchemy as sa
from dlt.sources.sql_database import sql_table
from sqlalchemy.engine import URL, ExceptionContext
from sqlalchemy.pool import NullPool

from sources.landing import Screen, landed

SYSTEM = "erp"
_NEWEST_WINS = {"updated_at": {"dedup_sort": "desc"}}


class ErpUnreachable(ConnectionError):
    """The ERP database refused or lost the connection."""


def _describe(url: URL) -> str:
    """Backend, host and database of ``url``: what an operator needs, nothing secret."""
    where = url.drivername
    if url.host:
        where += f" on {url.host}" + (f":{url.port}" if url.port else "")
    return where + (f", database {url.database}" if url.database else "")


def erp_engine(credentials: str) -> sa.Engine:
    """An engine that connects only when read (no pool outlives the load) and reports connection failures
    as ``ErpUnreachable`` with the driver's first line of explanation, any password scrubbed from it."""
    try:
        url = sa.make_url(credentials)
    except (sa.exc.ArgumentError, ValueError):
        raise ValueError(f"{SYSTEM}: the ERP database URL is not a valid SQLAlchemy URL") from None
    engine = sa.create_engine(url, poolclass=NullPool)

    @sa.event.listens_for(engine, "handle_error")
    def unreachable(context: ExceptionContext) -> None:
        if context.connection is not None and not context.is_disconnect:
            return  # a query that failed: the driver's error stands
        lines = str(context.original_exception).strip().splitlines() or [type(context.original_exception).__name__]
        reason = lines[0].replace(url.password, "***") if url.password else lines[0]
        verb = "cannot connect to" if context.connection is None else "lost the connection to"
        raise ErpUnreachable(f"{SYSTEM}: {verb} the ERP database ({_describe(url)}): {reason}") from None

    return engine


@dlt.source(name=SYSTEM)
def erp(credentials: str = dlt.secrets.value, chunk_size: int = 10_000, screen: Screen | None = None):
    """``credentials`` is the ERP's SQLAlchemy URL; tables are reflected at extraction, not import."""
    engine = erp_engine(credentials)

    def table(name: str):
        return sql_table(
            credentials=engine,
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
            screen=screen,
            table="erp_customer",
            primary_key="customer_no",
            columns=_NEWEST_WINS,
        ),
        landed(
            table("invoice"),
            system=SYSTEM,
            screen=screen,
            table="erp_invoice",
            primary_key="invoice_no",
            columns=_NEWEST_WINS,
        ),
    ]
