"""`hub access`: Roles, what each may read, and the database roles and views that enforce it.

The policy and the database are imported inside the commands, so that ``hub --help`` starts at once.
"""

import typer
from rich.table import Table

from hub.commands.context import acting, console
from hub.config import load_settings

app = typer.Typer(
    help="Roles, what each may read, and the database roles and views that enforce it.",
    no_args_is_help=True,
)


@app.command("roles")
def roles() -> None:
    """Every role and table it reads: columns seen and masked, purposes, and who it does not see."""
    from hub.access.policy import load_policy

    policy = load_policy()
    listing = Table(title="Access roles (hub/access/policy.toml)")
    for column in ("role", "table", "seen", "masked", "never", "hides flags", "purposes"):
        listing.add_column(column, justify="right" if column in ("seen", "masked", "never") else "left")
    for role in policy.roles.values():
        for position, table in enumerate(sorted(role.tables)):
            levels = list(role.columns(table).values())
            flags = role.flags_hidden_in(table)
            listing.add_row(
                role.name if position == 0 else "",
                table,
                str(levels.count("see")),
                str(levels.count("mask")),
                str(levels.count("never")),
                ", ".join(sorted(flags)) or "-",
                ", ".join(sorted(role.purposes)) if position == 0 else "",
                end_section=position == len(role.tables) - 1,
            )
    console.print(listing)


@app.command("show")
def show(role: str) -> None:
    """Per table the role reads: the columns it sees, sees masked, and never sees."""
    from hub.access.database_roles import group_role
    from hub.access.policy import load_policy
    from hub.access.views import view_schema

    rules = load_policy().role(role)
    console.print(f"[bold]{rules.name}[/bold]: {rules.description}")
    console.print(f"purposes: {', '.join(sorted(rules.purposes))}")
    console.print(f"hidden people: flagged {', '.join(sorted(rules.hidden_flags)) or 'nobody'}")
    console.print(f"views: schema {view_schema(rules)}; database role {group_role(rules.name)} ({rules.database})")
    listing = Table(show_lines=True)
    for column in ("table", "seen", "masked", "never"):
        listing.add_column(column)
    for table in sorted(rules.tables):
        columns = rules.columns(table)
        listing.add_row(
            table + (" (flags not applied)" if table in rules.flags_exempt else ""),
            *(", ".join(c for c, level in columns.items() if level == wanted) for wanted in ("see", "mask", "never")),
        )
    console.print(listing)


@app.command("apply")
def apply(ctx: typer.Context) -> None:
    """Create the views of every role now and, on PostgreSQL, the group roles and their grants."""
    from hub import storage
    from hub.access.acting import authorised
    from hub.access.database_roles import apply_database_roles
    from hub.access.views import apply_views, view_schema

    actor = acting(ctx, "apply_access")
    settings = load_settings()
    storage.migrate(settings.database_url)
    engine = storage.engine(settings.database_url)
    applied = apply_views(engine)
    groups = apply_database_roles(engine)
    with authorised(settings, actor, "apply_access") as (_, detail):
        detail.update(views=applied.counts(), database_roles=len(groups))
    for role, names in applied.views.items():
        console.print(f"{view_schema(role)}: {len(names)} views")
    for table, columns in applied.unclassified.items():
        console.print(f"[yellow]{table}: columns not in the policy, shown to nobody: {', '.join(columns)}[/yellow]")
    if groups:
        console.print(f"Database roles granted: {', '.join(groups)}")
    else:
        console.print("This database has no roles (DuckDB): the views and the hub's code hold the rules.")


@app.command("grant-login")
def grant_login_command(ctx: typer.Context, user: str, role: str) -> None:
    """Create a PostgreSQL LOGIN role USER (if needed) that reads as ROLE; the DBA sets its password."""
    from hub import storage
    from hub.access.acting import authorised
    from hub.access.database_roles import grant_login, group_role
    from hub.access.views import view_schema

    actor = acting(ctx, "grant_database_login")
    settings = load_settings()
    grant_login(storage.engine(settings.database_url), user, role)
    with authorised(settings, actor, "grant_database_login") as (_, detail):
        detail.update(login=user, login_role=role)
    console.print(
        f"{user} is a member of {group_role(role)} and reads the views in {view_schema(role)}. "
        f"Set its password as a DBA: ALTER ROLE {user} PASSWORD '...';"
    )
