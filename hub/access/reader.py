"""Reading a table as a role, for a purpose: the one read path of the hub's own code.

It reads from the role's view (``access_<role>.<table>``), never from the base table, so the columns
and rows are those a BI tool connected as the role gets. Reading for a consent purpose keeps only
customers whose consent to that purpose is granted (mdm.consent_state); a view cannot do that, as
it does not know the purpose.

When a view is missing the reader refuses rather than creating it: a reader must not write to the
database (DuckDB allows one writer, a PostgreSQL reader may lack the rights, and new views would
lack their grants). The pipeline's ``access/role_views`` asset or ``hub access apply`` creates them.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from hub import storage
from hub.access.policy import AccessDenied, Role, load_policy
from hub.access.views import purpose_view, quote, view_schema


class ViewMissing(LookupError):
    """The role's view of a table does not exist yet: run the pipeline or ``hub access apply``."""


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
    if not storage.table_exists(connection, schema, view):
        raise ViewMissing(f"no view {schema}.{view}: run the pipeline or `hub access apply`")
    sql = f"SELECT * FROM {quote(schema)}.{quote(view)} v"
    if where.strip():
        sql += f" WHERE ({where})"
    if order_by.strip():
        sql += f" ORDER BY {order_by}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return storage.read_frame(connection, sql, **params)
