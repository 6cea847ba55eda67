"""What every command shares: who acts (``hub --role/--purpose``), how it reads, and where it prints.

The role given to ``hub`` is the acting role of every command: reads go through its views for its
purpose (``require``), and changes are checked against the policy's ``[actions]`` (``acting``) before
anything happens. The user name recorded with an action is the operating-system user.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass

import typer
from rich.console import Console

console = Console()
errors = Console(stderr=True)


@dataclass(frozen=True)
class Invocation:
    """The options given to ``hub`` itself, before the command."""

    role: str | None = None
    purpose: str | None = None
    debug: bool = False


def invocation(ctx: typer.Context) -> Invocation:
    root = ctx.find_root()
    return root.obj if isinstance(root.obj, Invocation) else Invocation()


def user() -> str:
    return os.environ.get("USER") or getpass.getuser()


def acting(ctx: typer.Context, action: str, default_role: str = "pipeline"):
    """The actor of a command that takes ``action``: the acting role, refused unless the policy allows it."""
    from hub.access.acting import Actor
    from hub.access.policy import load_policy

    actor = Actor(user(), invocation(ctx).role or default_role)
    load_policy().permit(actor.role, action)
    return actor


def require(ctx: typer.Context, *tables: str):
    """The acting reader, if its role may read every table the command shows (AccessDenied otherwise)."""
    from hub.access.acting import reader
    from hub.access.policy import AccessDenied

    given = invocation(ctx)
    acting_reader = reader(given.role, given.purpose)
    refused = [t for t in tables if not acting_reader.may_read(t)]
    if refused:
        raise AccessDenied(
            f"role {acting_reader.role.name} may not read {', '.join(refused)} for {acting_reader.purpose}"
        )
    return acting_reader
