"""One schema of views per role (``access_<role>``), generated from the policy.

Each view has its table's name and shows the columns the role sees as they are, the masked ones
through the same masking as ``mask_value`` (first character and ``***``, dates to their year), and
leaves out the rows of people whose subject flags the role must not see. The views are the only way
a role reads: ``read_table`` reads them, and on PostgreSQL the roles' database grants reach nothing
else, so a BI tool connected to the database gets the same rows and columns as the hub's own code.

The SQL is plain enough for DuckDB and PostgreSQL alike. Views are dropped and created again, in one
transaction, whenever what they are made from changed (``hub.access.assets.views_digest``: the policy, this
code, the tables' columns, the views present), so a changed policy or a table that appeared since takes effect.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa

from hub import storage
from hub.access.policy import Policy, Role, SubjectLink, TableRule, load_policy

VIEW_SCHEMA_PREFIX = storage.ACCESS_SCHEMA_PREFIX
log = logging.getLogger(__name__)


def view_schema(role: str | Role) -> str:
    return VIEW_SCHEMA_PREFIX + (role if isinstance(role, str) else role.name)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def mask_sql(column: str, data_type: str) -> str:
    """SQL giving what ``mask_value`` gives for ``column`` (a quoted, qualified column) of that type."""
    kind = data_type.lower()
    if kind.startswith(("date", "timestamp")):
        return f"CAST(CAST(EXTRACT(YEAR FROM {column}) AS INTEGER) AS VARCHAR)"
    text = f"CAST({column} AS VARCHAR)"
    return f"CASE WHEN {column} IS NULL THEN NULL WHEN {text} = '' THEN '' ELSE SUBSTR({text}, 1, 1) || '***' END"


def about_customers(link: SubjectLink, alias: str, customers: str) -> str:
    """SQL that is true when the row ``alias`` is about a customer among ``customers`` (a SELECT of IDs).

    Never NULL: a row whose link is missing (a cleared customer_id) is about nobody.
    """
    hub = storage.HUB_SCHEMA
    if link.customer:
        predicate = f"{alias}.{quote(link.customer)} IN ({customers})"
    elif link.request:
        predicate = (
            f"EXISTS (SELECT 1 FROM {hub}.dsr_request r WHERE r.request_id = {alias}.{quote(link.request)} "
            f"AND r.customer_id IN ({customers}))"
        )
    else:
        system = literal(link.system) if link.system else f"{alias}.{quote(link.system_column)}"
        key = f"CAST({alias}.{quote(link.key_column)} AS VARCHAR)"
        predicate = (
            f"EXISTS (SELECT 1 FROM {hub}.customer_xref x WHERE x.source_system = {system} "
            f"AND x.source_key = {key} AND x.customer_id IN ({customers}))"
        )
        if link.customer_systems:
            systems = ", ".join(literal(s) for s in link.customer_systems)
            predicate = f"{predicate} OR ({system} IN ({systems}) AND {key} IN ({customers}))"
    return f"COALESCE(({predicate}), FALSE)"


def flagged_customers(flags: frozenset[str]) -> str:
    listed = ", ".join(literal(f) for f in sorted(flags))
    return f"SELECT f.customer_id FROM {storage.HUB_SCHEMA}.subject_flag f WHERE f.flag IN ({listed})"


def view_sql(role: Role, rule: TableRule, present: dict[str, str]) -> str | None:
    """The SELECT behind ``access_<role>.<table>`` over the columns ``present`` (name -> type), or None."""
    items = []
    for column, data_type in present.items():
        access = role.column_access(rule.qualified, column)
        if access == "see":
            items.append(f"t.{quote(column)}")
        elif access == "mask":
            items.append(f"{mask_sql(f't.{quote(column)}', data_type)} AS {quote(column)}")
    if not items:
        return None
    sql = f"SELECT {', '.join(items)} FROM {quote(rule.schema)}.{quote(rule.name)} t"
    flags = role.flags_hidden_in(rule.qualified)
    if flags:
        sql += f" WHERE NOT {about_customers(rule.subject, 't', flagged_customers(flags))}"
    return sql


@dataclass
class AppliedViews:
    """What ``apply_views`` did: views per role, policy tables not in the database, unclassified columns."""

    views: dict[str, list[str]] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)
    unclassified: dict[str, list[str]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {role: len(names) for role, names in self.views.items()}


def database_columns(connection: sa.Connection, schemas: set[str]) -> dict[str, dict[str, str]]:
    """``schema.table`` -> {column: data type} in column order, for every table of ``schemas``."""
    rows = connection.execute(
        sa.text(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
            "ORDER BY table_schema, table_name, ordinal_position"
        )
    )
    columns: dict[str, dict[str, str]] = {}
    for schema, table, column, data_type in rows:
        if schema in schemas:
            columns.setdefault(f"{schema}.{table}", {})[column] = data_type
    return columns


def existing_views(connection: sa.Connection, schema: str) -> list[str]:
    rows = connection.execute(
        sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s AND table_type = 'VIEW'"),
        {"s": schema},
    )
    return sorted(r[0] for r in rows)


def drop_views(connection: sa.Connection, policy: Policy | None = None) -> None:
    """Drop every role's views, e.g. before a migration that changes a column a view depends on."""
    policy = policy or load_policy()
    for role in policy.roles.values():
        schema = view_schema(role)
        for name in existing_views(connection, schema):
            connection.execute(sa.text(f"DROP VIEW IF EXISTS {quote(schema)}.{quote(name)} CASCADE"))


def apply_views(engine: sa.Engine, policy: Policy | None = None) -> AppliedViews:
    """Drop and create every role's views in one transaction; tables not (yet) in the database are skipped."""
    policy = policy or load_policy()
    applied = AppliedViews()
    with engine.begin() as connection:
        present = database_columns(connection, {rule.schema for rule in policy.tables.values()})
        applied.absent = sorted(t for t in policy.tables if t not in present)
        for table, rule in policy.tables.items():
            unclassified = sorted(set(present.get(table, {})) - set(rule.categories))
            if unclassified:
                applied.unclassified[table] = unclassified
                log.warning("access policy: columns of %s not classified, shown to nobody: %s", table, unclassified)
        drop_views(connection, policy)
        for role in policy.roles.values():
            connection.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {quote(view_schema(role))}"))
            applied.views.setdefault(role.name, [])
        for role, name, statement in planned_views(policy, present, connection.dialect.name):
            connection.execute(sa.text(statement))
            applied.views[role].append(name)
    return applied


def planned_views(policy: Policy, present: dict[str, dict[str, str]], dialect: str) -> list[tuple[str, str, str]]:
    """(role, view, CREATE VIEW statement) of every view the policy makes over the tables ``present``."""
    # PostgreSQL would otherwise let a reader's own function in WHERE see rows the view filters out.
    barrier = " WITH (security_barrier = true)" if dialect == "postgresql" else ""
    planned = []
    for role in policy.roles.values():
        schema = view_schema(role)
        for table in sorted(role.tables):
            rule = policy.tables[table]
            sql = view_sql(role, rule, present[table]) if table in present else None
            if sql is None:
                continue
            views = [(rule.name, sql)] if role.purposes - policy.consent_purposes else []
            for name, select in views + _purpose_views(policy, role, rule, sql):
                planned.append((role.name, name, f"CREATE VIEW {quote(schema)}.{quote(name)}{barrier} AS {select}"))
    return planned


def purpose_view(table: str, purpose: str) -> str:
    """The name of a role's view of ``table`` limited to the customers who consented to ``purpose``."""
    return f"{table}_for_{purpose}"


def _purpose_views(policy: Policy, role: Role, rule: TableRule, sql: str) -> list[tuple[str, str]]:
    """For a role reading for consent purposes: one view per purpose with only the consenting customers.

    A database login cannot say why it reads, so a role whose every purpose needs consent (marketing)
    gets only these: nothing it can read shows a person who did not consent to one of its purposes.
    """
    link = rule.subject
    if link is None or any(role.column_access(rule.qualified, c) != "see" for c in link.columns):
        return []
    views = []
    for purpose in sorted(role.purposes & policy.consent_purposes):
        granted = (
            f"SELECT c.customer_id FROM {storage.HUB_SCHEMA}.consent_state c "
            f"WHERE c.purpose = {literal(purpose)} AND c.granted"
        )
        views.append(
            (purpose_view(rule.name, purpose), f"SELECT * FROM ({sql}) v WHERE {about_customers(link, 'v', granted)}")
        )
    return views
