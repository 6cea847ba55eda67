"""The hub's database: one SQLAlchemy URL, DuckDB by default and PostgreSQL in production.

dlt lands data through its own destinations (the native DuckDB writer and the PostgreSQL COPY
writer are far faster than row inserts through SQLAlchemy), so the same URL is translated here
into a dlt destination as well.
"""

from __future__ import annotations

from functools import lru_cache

import dlt
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

LANDING_SCHEMA = "landing"


def is_duckdb(url: str) -> bool:
    return make_url(url).get_backend_name() == "duckdb"


@lru_cache(maxsize=8)
def engine(url: str) -> sa.Engine:
    """One engine per URL for the process; DuckDB files allow a single writer process."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(parsed.set(drivername="postgresql+psycopg"), pool_pre_ping=True)
    if parsed.get_backend_name() == "duckdb":
        return sa.create_engine(parsed, poolclass=sa.pool.NullPool)
    raise ValueError(f"unsupported hub database backend: {parsed.get_backend_name()}")


def dlt_destination(url: str):
    """The dlt destination writing into the same database as ``engine(url)``."""
    parsed: URL = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "duckdb":
        return dlt.destinations.duckdb(credentials=parsed.database)
    if backend == "postgresql":
        plain = parsed.set(drivername="postgresql")
        return dlt.destinations.postgres(credentials=plain.render_as_string(hide_password=False))
    raise ValueError(f"unsupported hub database backend: {backend}")


def table_exists(connection: sa.Connection, schema: str, table: str) -> bool:
    return sa.inspect(connection).has_table(table, schema=schema)


def describe(url: str) -> str:
    """The URL without its password, fit for a log line."""
    return make_url(url).render_as_string(hide_password=True)
