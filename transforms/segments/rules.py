"""Declarative segments: a segment is data (name, description, owner, purpose, and a rule), never code.

A rule is a tree of conditions joined by ``all`` or ``any``; a condition names a field, an operator and a
value. It is validated when loaded (pydantic: the field exists, the operator suits the field's kind, the
value suits both) and compiled to a vectorised mask over a frame of customers: nothing is evaluated as
code or pasted into SQL. ``explain`` says, condition by condition, why one customer is in or out.

    name = "vip_lapsing"
    purpose = "email_marketing"
    [rule]
    all = [
      { field = "abc_class", op = "eq", value = "A" },
      { any = [ { field = "lifecycle_stage", op = "in", value = ["lapsing", "churned"] },
                { field = "churn_risk", op = "gte", value = 0.6 } ] },
    ]
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

Kind = Literal["number", "text", "list", "flag"]

# What a rule may read, and of what kind each field is: the metrics, what the hub derives from them, and
# the few profile facts that identify nobody (a list field holds comma-separated names).
FIELDS: dict[str, Kind] = {
    "orders_total": "number",
    "orders_12m": "number",
    "revenue_total_eur": "number",
    "revenue_12m_eur": "number",
    "returns_eur": "number",
    "channels": "list",
    "r_score": "number",
    "f_score": "number",
    "m_score": "number",
    "rfm_segment": "text",
    "lifecycle_stage": "text",
    "abc_class": "text",
    "value_quadrant": "text",
    "churn_risk": "number",
    "churn_signals": "list",
    "p_alive": "number",
    "expected_orders_12m": "number",
    "expected_revenue_12m_eur": "number",
    "days_since_first_purchase": "number",
    "days_since_last_purchase": "number",
    "birthday_today": "flag",
    "postal_code": "text",
    "city": "text",
}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}
Op = Literal["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "is_null", "not_null", "is_true"]
OPS_BY_KIND: dict[Kind, frozenset[str]] = {
    "number": frozenset({"eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "is_null", "not_null"}),
    "text": frozenset({"eq", "ne", "in", "not_in", "is_null", "not_null"}),
    "list": frozenset({"contains", "is_null", "not_null"}),
    "flag": frozenset({"is_true"}),
}
_NO_VALUE = frozenset({"is_null", "not_null", "is_true"})


class Condition(BaseModel):
    """``field op value``: a null field meets no condition but ``is_null``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    field: str
    op: Op
    value: Any = None

    @model_validator(mode="after")
    def _fits(self) -> Condition:
        if self.field not in FIELDS:
            raise ValueError(f"unknown field {self.field!r}; one of {', '.join(FIELDS)}")
        kind = FIELDS[self.field]
        if self.op not in OPS_BY_KIND[kind]:
            raise ValueError(f"{self.field} is a {kind}: op must be one of {', '.join(sorted(OPS_BY_KIND[kind]))}")
        _check_value(kind, self.op, self.value)
        return self

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        values = frame[self.field]
        present = values.notna().to_numpy()
        if self.op == "is_null":
            return ~present
        if self.op == "not_null":
            return present
        if self.op == "is_true":
            return values.fillna(False).astype(bool).to_numpy()
        if self.op == "contains":
            members = values.fillna("").astype(str).str.split(",")
            return members.map(lambda names: self.value in names).to_numpy(dtype=bool)
        if self.op in ("in", "not_in"):
            inside = values.isin(self.value).to_numpy()
            return present & (inside if self.op == "in" else ~inside)
        return present & np.asarray(_COMPARE[self.op](values, self.value), dtype=bool)

    def describe(self) -> str:
        return self.field + " " + self.op.replace("_", " ") + ("" if self.op in _NO_VALUE else f" {self.value!r}")


def _check_value(kind: Kind, op: str, value: Any) -> None:
    if op in _NO_VALUE:
        if value is not None:
            raise ValueError(f"op {op} takes no value")
        return
    values = value if op in ("in", "not_in") else [value]
    if op in ("in", "not_in") and (not isinstance(value, list) or not value):
        raise ValueError(f"op {op} takes a non-empty list of values")
    for item in values:
        number = isinstance(item, int | float) and not isinstance(item, bool)
        if kind == "number" and not number:
            raise ValueError(f"value {item!r} is not a number")
        if kind in ("text", "list") and not isinstance(item, str):
            raise ValueError(f"value {item!r} is not text")


def _part_kind(value: Any) -> str:
    """A part with a ``field`` is a condition, any other a group: errors then name the part the file meant."""
    has_field = "field" in value if isinstance(value, Mapping) else isinstance(value, Condition)
    return "condition" if has_field else "group"


Part = Annotated[Annotated[Condition, Tag("condition")] | Annotated["Group", Tag("group")], Discriminator(_part_kind)]


class Group(BaseModel):
    """Conditions (or groups) of which all, or any, must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    all_of: list[Part] | None = Field(default=None, alias="all")
    any_of: list[Part] | None = Field(default=None, alias="any")

    @model_validator(mode="after")
    def _one_way(self) -> Group:
        if (self.all_of is None) == (self.any_of is None):
            raise ValueError("give exactly one of all, any")
        if not (self.all_of or self.any_of):
            raise ValueError("a group needs at least one condition")
        return self

    @property
    def parts(self) -> list[Condition | Group]:
        return self.all_of if self.all_of is not None else self.any_of or []

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        masks = [part.mask(frame) for part in self.parts]
        combine = np.logical_and.reduce if self.all_of is not None else np.logical_or.reduce
        return combine(masks) if masks else np.zeros(len(frame), dtype=bool)

    def describe(self) -> str:
        joiner = " and " if self.all_of is not None else " or "
        return "(" + joiner.join(part.describe() for part in self.parts) + ")"


class Segment(BaseModel):
    """A segment as a file declares it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    description: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    purpose: str = Field(min_length=1)
    rule: Group

    def members(self, customers: pd.DataFrame) -> pd.Series:
        """The ``customer_id`` of every customer the rule holds for."""
        return customers.loc[self.rule.mask(customers), "customer_id"]


def explain(rule: Group, customer: Mapping[str, Any]) -> list[tuple[int, str, bool]]:
    """(depth, condition or group, holds) for every part of the rule, for one customer's row."""
    frame = pd.DataFrame([dict(customer)])
    lines: list[tuple[int, str, bool]] = []

    def walk(part: Condition | Group, depth: int) -> None:
        holds = bool(part.mask(frame)[0])
        if isinstance(part, Condition):
            lines.append((depth, part.describe(), holds))
            return
        lines.append((depth, "all of" if part.all_of is not None else "any of", holds))
        for child in part.parts:
            walk(child, depth + 1)

    walk(rule, 0)
    return lines
