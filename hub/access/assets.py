"""Dagster definitions of the access area: the per-role views, and on PostgreSQL the roles and grants.

The views are made again after the golden data is rebuilt whenever the views the policy makes over the
tables there are now differ from the views made last (``views_digest``: their statements, and the views
present), so a table that appeared since the last run (the landing area of a fresh hub) or a changed policy
or masking takes effect; a run that changed none of it leaves them, and their readers, alone. The database
roles and grants are applied on every run all the same: they are idempotent, and a grant made by hand is
taken back.
"""

import hashlib
import json

import sqlalchemy as sa
from dagster import AssetExecutionContext, Definitions, MaterializeResult, asset

from hub.access import views
from hub.access.database_roles import apply_database_roles
from hub.access.policy import Policy, load_policy
from hub.access.views import apply_views
from hub.asset_keys import ACCESS_GROUP, access_key, consent_key, golden_key
from hub.golden_store import now
from hub.resources import HubDatabase
from hub.step_progress import read_step_progress, save_step_progress

VIEWS_STEP = "role_views"  # when the views were last made, and from what (``hub.step_progress``)


@asset(
    key=access_key("role_views"),
    deps=[golden_key("golden_customer"), consent_key("consent_state")],
    group_name=ACCESS_GROUP,
    description="One schema of views per role (access_<role>) from the access policy; on PostgreSQL "
    "also the group roles hub_<role> and their grants.",
)
def role_views(context: AssetExecutionContext, database: HubDatabase) -> MaterializeResult:
    engine = database.engine()
    with engine.connect() as connection:
        unchanged = read_step_progress(connection, VIEWS_STEP, views_digest(connection)) is not None
    if unchanged:
        groups = apply_database_roles(engine)
        return MaterializeResult(metadata={"views_made": False, "database_roles": _roles(groups)})
    applied = apply_views(engine)
    groups = apply_database_roles(engine)
    with engine.begin() as connection:
        save_step_progress(connection, VIEWS_STEP, now(), views_digest(connection))
    if applied.unclassified:
        context.log.warning(f"columns shown to nobody until the policy classifies them: {applied.unclassified}")
    return MaterializeResult(
        metadata={
            "views_made": True,
            **{f"views_{role}": count for role, count in applied.counts().items()},
            "tables_not_in_database": len(applied.absent),
            "unclassified_columns": sum(len(c) for c in applied.unclassified.values()),
            "database_roles": _roles(groups),
        }
    )


def views_digest(connection: sa.Connection, policy: Policy | None = None) -> str:
    """A digest of the views the policy makes over the tables there are now (every statement, so a changed
    policy, classification or masking changes it), of those tables' columns and types, and of the views
    present (so that a view dropped by a migration or by hand is made again)."""
    policy = policy or load_policy()
    present = views.database_columns(connection, {rule.schema for rule in policy.tables.values()})
    listed = connection.execute(
        sa.text(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'VIEW' "
            "ORDER BY table_schema, table_name"
        )
    ).all()
    made = [f"{schema}.{name}" for schema, name in listed if schema.startswith(views.VIEW_SCHEMA_PREFIX)]
    planned = views.planned_views(policy, present, connection.dialect.name)
    # the columns' types too: DuckDB keeps a view over a column whose type a migration changed, and fails on it
    return hashlib.sha256(json.dumps([planned, made, present], sort_keys=True).encode()).hexdigest()[:16]


def _roles(groups: list[str]) -> str:
    return ", ".join(groups) if groups else "none (no roles on this backend)"


def access_definitions() -> Definitions:
    return Definitions(assets=[role_views])
