"""Dagster definitions of the access area: the per-role views, and on PostgreSQL the roles and grants.

The views are recreated after the golden data is rebuilt, so a table that appeared since the last
run (the landing area of a fresh hub) gets its views, and the grants follow the recreated views.
"""

from dagster import AssetExecutionContext, Definitions, MaterializeResult, asset

from hub.access.database_roles import apply_database_roles
from hub.access.views import apply_views
from hub.asset_keys import ACCESS_GROUP, access_key, consent_key, golden_key
from hub.resources import HubDatabase


@asset(
    key=access_key("role_views"),
    deps=[golden_key("golden_customer"), consent_key("consent_state")],
    group_name=ACCESS_GROUP,
    description="One schema of views per role (access_<role>) from the access policy; on PostgreSQL "
    "also the group roles hub_<role> and their grants.",
)
def role_views(context: AssetExecutionContext, database: HubDatabase) -> MaterializeResult:
    engine = database.engine()
    applied = apply_views(engine)
    groups = apply_database_roles(engine)
    if applied.unclassified:
        context.log.warning(f"columns shown to nobody until the policy classifies them: {applied.unclassified}")
    return MaterializeResult(
        metadata={
            **{f"views_{role}": count for role, count in applied.counts().items()},
            "tables_not_in_database": len(applied.absent),
            "unclassified_columns": sum(len(c) for c in applied.unclassified.values()),
            "database_roles": ", ".join(groups) if groups else "none (no roles on this backend)",
        }
    )


def access_definitions() -> Definitions:
    return Definitions(assets=[role_views])
