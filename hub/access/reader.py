"""Reading a table as a role, for a purpose: the one read path of the hub's own code.

It reads from the role's view (``access_<role>.<table>``), never from the base table, so the columns
and rows are those a BI tool connected as the role gets. Reading for a consent purpose keeps only
customers whose consent to that purpose is granted (mdm.consent_state); a view cannot do that, as
it does not know the purpose.

When a view is missing the reader refuses rather than creating it: a reader must not write to the
database (DuckDB allows one writer, a PostgreSQL reader may lack the rights, and new views would
lack their grants). The pipeline's ``access/role_views`` asset or ``hub access apply`` creates them.
A missing view is told from the database's own error rather than looked up before every read: the
information schema costs more than the read itself (milliseconds on DuckDB), and the API reads on
every request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import duckdb
import pandas as pd
import sqlalchemy as sa

from hub import storage
from hub.access.policy import AccessDenied, Role, load_policy
from hub.access.views import purpose_view, quote, view_schema

T = TypeVar("T")


class ViewMissing(LookupError):
    """The role's view of a table does not exist yet: run the pipeline or ``hub access apply``."""


UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATE for a relation that does not exist


def _no_such_relation(error: Exception) -> bool:
    """Whether the database refused a query because a table or view it names does not exist."""
    cause = getattr(error, "orig", error)
    return isinstance(cause, duckdb.CatalogException) or getattr(cause, "sqlstate", None) == UNDEFINED_TABLE


def _statement(
    role: str | Role, table: str, purpose: str, where: str, order_by: str, limit: int | None
) -> tuple[str, str]:
    """The SQL that reads ``table`` as the role for the purpose, and the view's name (for a ViewMissing)."""
    policy = load_policy()
    role = policy.role(role) if isinstance(role, str) else role
    if purpose not in policy.purposes:
        raise AccessDenied(f"unknown purpose {purpose}")
    rule = role.check(table, purpose)
    schema = view_schema(role)
    view = rule.name
    if purpose in policy.consent_purposes:
        link = rule.subject
        if link is None or any(role.column_access(rule.qualified, c) != "see" for c in link.columns):
            raise AccessDenied(f"{rule.qualified} cannot be limited to consenting customers for role {role.name}")
        view = purpose_view(rule.name, purpose)
    sql = f"SELECT * FROM {quote(schema)}.{quote(view)} v"
    if where.strip():
        sql += f" WHERE ({where})"
    if order_by.strip():
        sql += f" ORDER BY {order_by}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, f"{schema}.{view}"


def _refusing_missing_views(read: Callable[[str], T], sql: str, view: str) -> T:
    try:
        return read(sql)
    except (sa.exc.DBAPIError, duckdb.CatalogException) as error:
        if _no_such_relation(error):
            raise ViewMissing(f"no view {view}: run the pipeline or `hub access apply`") from None
        raise


def read_table(
    connection: sa.Connection,
    role: str | Role,
    table: str,
    purpose: str,
    where: str = "",
    *,
    order_by: str = "",
    limit: int | None = None,
    **params,
) -> pd.DataFrame:
    """``table`` (``schema.table`` or its name) as ``role`` may see it when reading for ``purpose``.

    ``where`` is a SQL condition over the view's columns, written by the hub's code with ``:name``
    placeholders bound from ``params``; never put values into it. ``order_by`` (SQL over the view's columns,
    likewise the hub's own) and ``limit`` let the database return one page, so that a caller paging through
    a large view with a keyset condition in ``where`` never reads the whole of it. Raises AccessDenied if
    the role may not read the table for that purpose, ViewMissing if the views have not been created.
    """
    sql, view = _statement(role, table, purpose, where, order_by, limit)
    return _refusing_missing_views(lambda q: storage.read_frame(connection, q, **params), sql, view)


def read_rows(
    connection: sa.Connection, role: str | Role, table: str, purpose: str, where: str = "", **params
) -> list[dict[str, Any]]:
    """As ``read_table``, as plain rows: for a few rows (one person's) a frame costs more than the query."""
    sql, view = _statement(role, table, purpose, where, "", None)
    return _refusing_missing_views(
        lambda q: [dict(row) for row in connection.execute(sa.text(q), params).mappings()], sql, view
    )
