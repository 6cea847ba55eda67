"""Splitting a batch of rows into the ones that meet their model and the ones to quarantine.

Every rejected row keeps its raw content and the list of checks it failed, so that a steward can
see why it was held back and nothing read is ever silently dropped.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors


@dataclass
class Rejected:
    """A row that will not land, with the reasons."""

    raw: dict[str, Any]
    checks: list[dict[str, str]] = field(default_factory=list)


def _check_name(check: Any) -> str:
    return str(check).replace("\n", " ")


def validate_rows(
    rows: list[dict[str, Any]], model: type[pa.DataFrameModel]
) -> tuple[list[dict[str, Any]], list[Rejected]]:
    """Rows that pass ``model`` unchanged, and the failures with one entry per failed check.

    A failure that concerns no single row (a column the contract requires is missing from the whole
    batch) rejects every row of the batch.
    """
    if not rows:
        return [], []
    try:
        model.validate(pd.DataFrame.from_records(rows), lazy=True)
        return rows, []
    except SchemaErrors as errors:
        cases = errors.failure_cases
    by_row: dict[int, list[dict[str, str]]] = defaultdict(list)
    whole_batch: list[dict[str, str]] = []
    schema_name = model.to_schema().name
    for case in cases.itertuples(index=False):
        # A schema-level failure names the schema as its column and the column as its failure case.
        column = case.failure_case if case.column == schema_name else case.column
        check = {"column": str(column), "check": _check_name(case.check)}
        if pd.isna(case.index):
            whole_batch.append(check)
        elif check not in by_row[int(case.index)]:
            by_row[int(case.index)].append(check)
    if whole_batch:
        return [], [Rejected(row, whole_batch + by_row.get(i, [])) for i, row in enumerate(rows)]
    good = [row for i, row in enumerate(rows) if i not in by_row]
    bad = [Rejected(rows[i], checks) for i, checks in sorted(by_row.items())]
    return good, bad


def _json_default(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def to_json(value: Any) -> str:
    """JSON text of a raw row, whatever Python types its source produced."""
    return json.dumps(value, default=_json_default, ensure_ascii=False, sort_keys=True)
