"""PostgreSQL roles and grants that hold a direct database connection to the access policy.

Every hub role has a NOLOGIN group role ``hub_<role>``. PUBLIC loses every right on the schemas
holding data (mdm, landing, landing_staging) and on the view schemas; each group role gets USAGE on
its own ``access_<role>`` schema and SELECT on its views, and nothing else unless the policy's
``database`` setting says so: "read_all" (the DPO) adds SELECT on every table, "full" (the pipeline)
adds every right on the data schemas, also for tables created later. Views run with their owner's
rights, so a member of ``hub_marketing`` reads the base tables only through ``access_marketing``.

A person or a BI tool connects as a LOGIN role that is a member of exactly one group role
(``grant_login``); the DBA sets its password. DuckDB has no roles: there the functions do nothing.
Everything here is idempotent and runs after every pipeline run, because recreated views lose
their grants.
"""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa

from hub import storage
from hub.access.policy import AccessDenied, Policy, load_policy
from hub.access.views import quote, view_schema
from hub.config import ConfigurationError

GROUP_PREFIX = "hub_"
DATA_SCHEMAS = (storage.HUB_SCHEMA, storage.LANDING_SCHEMA, f"{storage.LANDING_SCHEMA}_staging")
LOGIN_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
log = logging.getLogger(__name__)


class NoDatabaseRoles(ConfigurationError):
    """The hub's database has no roles (DuckDB): access is enforced by the views and the hub's code."""


def group_role(role: str) -> str:
    return GROUP_PREFIX + role


def _schemas(connection: sa.Connection) -> set[str]:
    return {r[0] for r in connection.execute(sa.text("SELECT schema_name FROM information_schema.schemata"))}


def _ensure_group(connection: sa.Connection, name: str) -> None:
    """Roles are cluster-wide: another database's hub may have created it, perhaps at this very moment."""
    exists = connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first()
    if exists:
        return
    connection.execute(
        sa.text(
            f"DO $$ BEGIN CREATE ROLE {quote(name)} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
    )


def _revoke_all(connection: sa.Connection, schema: str, grantee: str) -> None:
    connection.execute(sa.text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {quote(schema)} FROM {grantee}"))
    connection.execute(sa.text(f"REVOKE ALL ON SCHEMA {quote(schema)} FROM {grantee}"))


def _grant_select(connection: sa.Connection, schema: str, grantee: str) -> None:
    connection.execute(sa.text(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {grantee}"))
    connection.execute(sa.text(f"GRANT SELECT ON ALL TABLES IN SCHEMA {quote(schema)} TO {grantee}"))


def apply_database_roles(engine: sa.Engine, policy: Policy | None = None) -> list[str]:
    """Create the group roles and set their grants; returns the group roles, or [] on DuckDB."""
    if engine.dialect.name != "postgresql":
        log.info(
            "the hub's database has no roles (%s): access is held by views and the hub's code", engine.dialect.name
        )
        return []
    policy = policy or load_policy()
    groups = []
    with engine.begin() as connection:
        present = _schemas(connection)
        data = [s for s in DATA_SCHEMAS if s in present]
        views = [view_schema(r) for r in policy.roles.values() if view_schema(r) in present]
        for schema in data + views:
            _revoke_all(connection, schema, "PUBLIC")
        # Without temporary objects a reader cannot define the functions that probe a view's hidden rows.
        database = connection.execute(sa.text("SELECT current_database()")).scalar()
        connection.execute(sa.text(f"REVOKE TEMPORARY ON DATABASE {quote(database)} FROM PUBLIC"))
        for role in policy.roles.values():
            group = group_role(role.name)
            _ensure_group(connection, group)
            grantee = quote(group)
            for schema in data + views:
                _revoke_all(connection, schema, grantee)
            if view_schema(role) in present:
                _grant_select(connection, view_schema(role), grantee)
            if role.database == "read_all":
                for schema in data + views:
                    _grant_select(connection, schema, grantee)
                    connection.execute(
                        sa.text(
                            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {quote(schema)} GRANT SELECT ON TABLES TO {grantee}"
                        )
                    )
            if role.database == "full":
                connection.execute(sa.text(f"GRANT TEMPORARY ON DATABASE {quote(database)} TO {grantee}"))
                for schema in data:
                    connection.execute(sa.text(f"GRANT ALL ON SCHEMA {quote(schema)} TO {grantee}"))
                    connection.execute(sa.text(f"GRANT ALL ON ALL TABLES IN SCHEMA {quote(schema)} TO {grantee}"))
                    connection.execute(sa.text(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {grantee}"))
                    connection.execute(
                        sa.text(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {quote(schema)} GRANT ALL ON TABLES TO {grantee}")
                    )
            groups.append(group)
    return groups


def grant_login(engine: sa.Engine, user: str, role: str, policy: Policy | None = None) -> None:
    """Make ``user`` a LOGIN role that is a member of ``hub_<role>`` and of no other hub group role.

    The login gets no password here: the DBA sets one (``ALTER ROLE ... PASSWORD``) or maps it in
    pg_hba.conf, so that no secret passes through the hub.
    """
    if engine.dialect.name != "postgresql":
        raise NoDatabaseRoles("database logins exist only when the hub's database is PostgreSQL")
    policy = policy or load_policy()
    policy.role(role)
    if not LOGIN_NAME.fullmatch(user) or user.startswith(GROUP_PREFIX) and user[len(GROUP_PREFIX) :] in policy.roles:
        raise AccessDenied("a login name is lower-case letters, digits and _, and not a hub group role")
    with engine.begin() as connection:
        _ensure_group(connection, group_role(role))
        exists = connection.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": user}).first()
        if not exists:
            connection.execute(sa.text(f"CREATE ROLE {quote(user)} LOGIN"))
        for other in policy.roles:
            if other != role:
                member = connection.execute(
                    sa.text(
                        "SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                        "JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = :g AND u.rolname = :u"
                    ),
                    {"g": group_role(other), "u": user},
                ).first()
                if member:
                    connection.execute(sa.text(f"REVOKE {quote(group_role(other))} FROM {quote(user)}"))
        connection.execute(sa.text(f"GRANT {quote(group_role(role))} TO {quote(user)}"))
