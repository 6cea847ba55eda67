"""The access policy: roles, the tables and purposes each may read, and what each sees of them.

The rules live in ``policy.toml`` beside this module, so that they can be read and reviewed without
reading code. Loading validates them strictly: an unknown role, table, purpose, flag or category is an
error naming it, and a column must be put in exactly one category. A column nobody classified is never
shown: a new column cannot leak by being forgotten.

The same rules are applied in SQL by the per-role views (``hub.access.views``) and in Python by
``mask_frame`` for frames assembled by code; both mask the same way (``mask_value``).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from hub.storage import LANDING_SCHEMA
from quality import contract
from quality.masking import mask_text
from quality.tables import landed_tables

POLICY_FILE = Path(__file__).with_name("policy.toml")
FLAGS = frozenset({"restricted", "objected"})
DATABASE_RIGHTS = frozenset({"views", "read_all", "full"})
ACCESS_LEVELS = ("see", "mask", "never")
Access = Literal["see", "mask", "never"]


class AccessDenied(PermissionError):
    """The role may not read this table, or not for this purpose."""


class PolicyError(ValueError):
    """The policy file is inconsistent; the message names what is wrong."""


@dataclass(frozen=True)
class Purpose:
    name: str
    consent: bool
    description: str


@dataclass(frozen=True)
class SubjectLink:
    """How a row leads to the customer it is about: a customer column, a source record, or a request."""

    customer: str | None = None
    system: str | None = None
    system_column: str | None = None
    key_column: str | None = None
    customer_systems: tuple[str, ...] = ()
    request: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.customer, self.system_column, self.key_column, self.request) if c)


@dataclass(frozen=True)
class TableRule:
    schema: str
    name: str
    categories: Mapping[str, str]  # column -> category
    subject: SubjectLink | None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    purposes: frozenset[str]
    hidden_flags: frozenset[str]
    tables: frozenset[str]  # schema.table
    flags_exempt: frozenset[str]
    database: str
    category_access: Mapping[str, Access] = field(repr=False)
    overrides: Mapping[str, Access] = field(repr=False)  # schema.table.column -> access
    table_rules: Mapping[str, TableRule] = field(repr=False)  # every table of the policy

    def table(self, name: str) -> TableRule:
        """The rule of a table this role may read, by ``schema.table`` or bare name."""
        rule = _resolve(self.table_rules, name)
        if rule is None or rule.qualified not in self.tables:
            raise AccessDenied(f"role {self.name} may not read table {name}")
        return rule

    def column_access(self, schema_table: str, column: str) -> Access:
        """'see', 'mask' or 'never'; a table the role may not read and an unclassified column are 'never'."""
        rule = _resolve(self.table_rules, schema_table)
        if rule is None or rule.qualified not in self.tables or column not in rule.categories:
            return "never"
        override = self.overrides.get(f"{rule.qualified}.{column}")
        return override or self.category_access.get(rule.categories[column], "never")

    def columns(self, schema_table: str) -> dict[str, Access]:
        """Every classified column of a readable table with this role's access to it."""
        rule = self.table(schema_table)
        return {c: self.column_access(rule.qualified, c) for c in rule.categories}

    def flags_hidden_in(self, schema_table: str) -> frozenset[str]:
        """The subject flags that hide a person's rows of this table from the role."""
        rule = self.table(schema_table)
        return frozenset() if rule.qualified in self.flags_exempt else self.hidden_flags

    def check(self, table: str, purpose: str) -> TableRule:
        """The table's rule if the role may read it for ``purpose``; AccessDenied otherwise."""
        if purpose not in self.purposes:
            raise AccessDenied(f"role {self.name} may not read for purpose {purpose}")
        return self.table(table)


@dataclass(frozen=True)
class Policy:
    purposes: Mapping[str, Purpose]
    categories: Mapping[str, str]
    tables: Mapping[str, TableRule]
    roles: Mapping[str, Role]
    actions: Mapping[str, frozenset[str]]  # action -> the roles that may take it

    @property
    def consent_purposes(self) -> frozenset[str]:
        return frozenset(p.name for p in self.purposes.values() if p.consent)

    def role(self, name: str) -> Role:
        if name not in self.roles:
            raise AccessDenied(f"unknown role {name}; roles are {', '.join(self.roles)}")
        return self.roles[name]

    def table(self, name: str) -> TableRule:
        rule = _resolve(self.tables, name)
        if rule is None:
            raise PolicyError(f"table {name} is not covered by the access policy")
        return rule

    def permit(self, role: str, action: str) -> None:
        """Nothing if ``role`` may take ``action``; AccessDenied naming the roles that may, otherwise."""
        if action not in self.actions:
            raise PolicyError(f"action {action} is not in the access policy")
        self.role(role)
        if role not in self.actions[action]:
            allowed = ", ".join(sorted(self.actions[action]))
            raise AccessDenied(f"role {role} may not {action.replace('_', ' ')} (roles that may: {allowed})")


def _resolve(tables: Mapping[str, TableRule], name: str) -> TableRule | None:
    if name in tables:
        return tables[name]
    matches = [rule for rule in tables.values() if rule.name == name]
    return matches[0] if len(matches) == 1 else None


def load_policy(path: Path | None = None) -> Policy:
    """The policy from ``path`` (default: ``policy.toml`` beside this module), validated."""
    return _load(Path(path or POLICY_FILE).resolve())


@lru_cache(maxsize=4)
def _load(path: Path) -> Policy:
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    for section in ("purposes", "categories", "tables", "roles", "actions"):
        if section not in raw:
            raise PolicyError(f"{path.name}: missing section [{section}]")
    purposes = {
        name: Purpose(name, bool(spec.get("consent", False)), str(spec.get("description", "")))
        for name, spec in raw["purposes"].items()
    }
    categories = {str(k): str(v) for k, v in raw["categories"].items()}
    tables = {name: _table(name, spec, categories) for name, spec in raw["tables"].items()}
    for name, rule in _described_tables(categories).items():
        if name in tables:
            raise PolicyError(f"table {name} is described in quality/tables: do not repeat it in {path.name}")
        tables[name] = rule
    short = pd.Series([t.name for t in tables.values()])
    if short.duplicated().any():
        raise PolicyError(
            f"table names must be unique across schemas (views use them): {set(short[short.duplicated()])}"
        )
    roles = {name: _role(name, spec, purposes, categories, tables) for name, spec in raw["roles"].items()}
    actions = {name: _names(f"of action {name}", "roles", who, roles, "role") for name, who in raw["actions"].items()}
    return Policy(purposes, categories, tables, roles, actions)


def _table(qualified: str, spec: dict, categories: Mapping[str, str]) -> TableRule:
    if qualified.count(".") != 1:
        raise PolicyError(f"table {qualified}: name it as schema.table")
    unknown = set(spec) - {"columns", "subject"}
    if unknown:
        raise PolicyError(f"table {qualified}: unknown keys {sorted(unknown)}")
    column_category: dict[str, str] = {}
    for category, columns in spec.get("columns", {}).items():
        if category not in categories:
            raise PolicyError(f"table {qualified}: unknown column category {category}")
        for column in columns:
            if column in column_category:
                raise PolicyError(f"table {qualified}: column {column} is in two categories")
            column_category[column] = category
    schema, name = qualified.split(".")
    subject = _subject(qualified, spec["subject"]) if "subject" in spec else None
    if subject is not None:
        missing = [c for c in subject.columns if c not in column_category]
        if missing:
            raise PolicyError(f"table {qualified}: subject columns {missing} are not classified")
    return TableRule(schema, name, column_category, subject)


def _described_tables(categories: Mapping[str, str]) -> dict[str, TableRule]:
    """The landed tables' rules from their descriptions: their columns' categories and their subject link."""
    rules = {}
    for table in landed_tables():
        qualified = f"{LANDING_SCHEMA}.{table.name}"
        unknown = sorted(set(table.column_categories.values()) - set(categories))
        if unknown:
            raise PolicyError(f"table {qualified}: unknown column categories {unknown}")
        link = table.subject()
        subject = SubjectLink(system=link.system, key_column=contract.column(link.key)) if link else None
        rules[qualified] = TableRule(LANDING_SCHEMA, table.name, table.column_categories, subject)
    return rules


def _subject(qualified: str, spec: dict) -> SubjectLink:
    known = {"customer", "system", "system_column", "key_column", "customer_systems", "request"}
    if set(spec) - known:
        raise PolicyError(f"table {qualified}: unknown subject keys {sorted(set(spec) - known)}")
    link = SubjectLink(**{**spec, "customer_systems": tuple(spec.get("customer_systems", ()))})
    by_record = bool(link.key_column) and bool(link.system) != bool(link.system_column)
    if [bool(link.customer), by_record, bool(link.request)].count(True) != 1:
        raise PolicyError(
            f"table {qualified}: subject needs exactly one of customer, system/system_column with key_column, request"
        )
    return link


def _names(role: str, key: str, value, allowed: Mapping | frozenset, what: str) -> frozenset[str]:
    if value == "all":
        return frozenset(allowed)
    if not isinstance(value, list):
        raise PolicyError(f'role {role}: {key} must be a list or "all"')
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise PolicyError(f"role {role}: unknown {what} {', '.join(map(str, unknown))}")
    return frozenset(value)


def _role(name: str, spec: dict, purposes: Mapping, categories: Mapping, tables: Mapping[str, TableRule]) -> Role:
    known = {"description", "purposes", "hidden_flags", "flags_exempt", "tables", *ACCESS_LEVELS, "columns", "database"}
    unknown = set(spec) - known
    if unknown:
        raise PolicyError(f"role {name}: unknown keys {sorted(unknown)}")
    readable = _names(name, "tables", spec.get("tables", []), tables, "table")
    see, mask, never = (_names(name, k, spec.get(k, []), categories, "column category") for k in ACCESS_LEVELS)
    if spec.get("see") != "all" and (see & mask or see & never or mask & never):
        raise PolicyError(f"role {name}: categories {sorted((see & mask) | (see | mask) & never)} have two levels")
    access: dict[str, Access] = {**dict.fromkeys(see, "see"), **dict.fromkeys(mask, "mask")}
    for category in never:
        access.pop(category, None)
    overrides: dict[str, Access] = {}
    for target, level in spec.get("columns", {}).items():
        table, _, column = str(target).rpartition(".")
        if level not in ACCESS_LEVELS:
            raise PolicyError(f"role {name}: {target} must be one of {', '.join(ACCESS_LEVELS)}")
        if table not in readable or column not in tables[table].categories:
            raise PolicyError(f"role {name}: override {target} names no column of a table the role reads")
        overrides[target] = level
    flags = _names(name, "hidden_flags", spec.get("hidden_flags", []), FLAGS, "subject flag")
    exempt = _names(name, "flags_exempt", spec.get("flags_exempt", []), readable, "table (or one it does not read)")
    if flags:
        unlinked = [t for t in sorted(readable - exempt) if tables[t].subject is None]
        if unlinked:
            raise PolicyError(f"role {name} hides flagged people but tables {unlinked} have no subject")
    database = spec.get("database", "views")
    if database not in DATABASE_RIGHTS:
        raise PolicyError(f"role {name}: database must be one of {sorted(DATABASE_RIGHTS)}")
    return Role(
        name=name,
        description=str(spec.get("description", "")),
        purposes=_names(name, "purposes", spec.get("purposes", []), purposes, "purpose"),
        hidden_flags=flags,
        tables=readable,
        flags_exempt=exempt,
        database=database,
        category_access=access,
        overrides=overrides,
        table_rules=tables,
    )


def mask_value(value):
    """A value as every read path masks it: dates to their year, other values to mask_text; NULL stays NULL."""
    if isinstance(value, (list, dict, np.ndarray)):
        return mask_text(value)
    if value is None or pd.isna(value):
        return None
    if isinstance(value, (dt.date, np.datetime64)):
        return str(pd.Timestamp(value).year)
    if isinstance(value, (bool, np.bool_)):
        return mask_text(str(bool(value)).lower())
    return mask_text(value)


def mask_frame(role: Role, table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (columns of ``table``) as ``role`` may see it: 'never' columns dropped, 'mask' ones masked.

    Rows are the caller's business: the views and ``read_table`` also leave out flagged people.
    """
    rule = role.table(table)
    shown = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        access = role.column_access(rule.qualified, column)
        if access == "see":
            shown[column] = frame[column]
        elif access == "mask":
            shown[column] = pd.Series([mask_value(v) for v in frame[column]], index=frame.index, dtype=object)
    return shown
