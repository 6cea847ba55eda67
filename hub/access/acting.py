"""A reader: a role and the purpose it reads for, as the command line and exports act.

Every read path of the hub takes one, so that what a command prints is what the role's views show:
the command line builds it from ``--role``/``--purpose`` (``HUB_ROLE``, ``HUB_PURPOSE``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from hub.access.policy import AccessDenied, Policy, Role, load_policy, mask_frame
from hub.access.reader import read_table

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
