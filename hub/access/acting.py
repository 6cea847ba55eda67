"""Who acts: a reader (a role and the purpose it reads for) and an actor taking an action that changes data.

Every read path of the hub takes a reader, so that what a command prints is what the role's views show:
the command line builds it from ``--role``/``--purpose`` (``HUB_ROLE``, ``HUB_PURPOSE``). Every write
that the policy's ``[actions]`` name goes through ``authorised``: the role is checked first, and the
action is written to the audit log in the same transaction as the change, so neither exists without
the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from hub import audit, storage
from hub.access.policy import AccessDenied, Policy, Role, load_policy, mask_frame
from hub.access.reader import read_table
from hub.config import Settings

DEFAULT_ROLE = "pipeline"


@dataclass(frozen=True)
class Reader:
    role: Role
    purpose: str

    def may_read(self, table: str) -> bool:
        try:
            self.role.check(table, self.purpose)
        except AccessDenied:
            return False
        return True

    def read(self, connection: sa.Connection, table: str, where: str = "", **params) -> pd.DataFrame:
        return read_table(connection, self.role, table, self.purpose, where, **params)

    def mask(self, table: str, frame: pd.DataFrame) -> pd.DataFrame:
        """A frame the hub assembled itself, cut to what the role may see of ``table``."""
        self.role.check(table, self.purpose)
        return mask_frame(self.role, table, frame)


def default_purpose(role: Role, policy: Policy) -> str:
    """The role's operational purpose if it has one (reading for a consent purpose narrows the rows)."""
    operational = sorted(role.purposes - policy.consent_purposes)
    return operational[0] if operational else sorted(role.purposes)[0]


def reader(role: str | None = None, purpose: str | None = None) -> Reader:
    policy = load_policy()
    acting = policy.role(role or DEFAULT_ROLE)
    chosen = purpose or default_purpose(acting, policy)
    if chosen not in acting.purposes:
        raise AccessDenied(f"role {acting.name} may not read for purpose {chosen}")
    return Reader(acting, chosen)


@dataclass(frozen=True)
class Actor:
    """Who acts, in which access role: recorded in the audit log (and a request's trail)."""

    name: str
    role: str


@contextmanager
def authorised(
    settings: Settings, actor: Actor, action: str, subject_ref: str | None = None
) -> Iterator[tuple[sa.Connection, dict[str, Any]]]:
    """A transaction for ``action`` if the actor's role may take it (AccessDenied before anything happens).

    Yields the connection and a dict the caller fills with what the audit entry should say (counts,
    ids; never personal data); the entry is written last, in the same transaction, and anchored after it.
    """
    policy = load_policy()
    policy.permit(actor.role, action)
    detail: dict[str, Any] = {}
    with storage.engine(settings.database_url).begin() as connection:
        yield connection, detail
        audit.record(
            connection,
            actor=actor.name,
            role=actor.role,
            action=action,
            subject_ref=subject_ref,
            purpose=default_purpose(policy.role(actor.role), policy),
            detail=detail,
        )
    audit.keep_anchored(settings)
