"""What the landing area holds: per table, the last load and the quarantine, for ``hub status``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from hub import schema
from hub.ledger import account, latest_load_id
from hub.storage import HUB_SCHEMA, LANDING_SCHEMA, table_exists
from quality.masking import mask_record
from quality.tables import described, landed_tables
from sources.landing import QUARANTINE_TABLE


@dataclass(frozen=True)
class TableStatus:
    system: str
    table: str
    rows: int
    last_load_at: datetime | None
    last_read: int
    last_landed: int
    last_quarantined: int
    quarantined_total: int


def _load_time(connection: sa.Connection, load_id: str | None) -> datetime | None:
    if load_id is None:
        return None
    return connection.execute(
        sa.text(f"SELECT inserted_at FROM {LANDING_SCHEMA}._dlt_loads WHERE load_id = :l"),
        {"l": load_id},
    ).scalar()


def landing_status(engine: sa.Engine) -> list[TableStatus]:
    statuses = []
    with engine.connect() as connection:
        has_quarantine = table_exists(connection, LANDING_SCHEMA, QUARANTINE_TABLE)
        for landed in landed_tables():
            table, system = landed.name, landed.system
            load_id = latest_load_id(connection, system)
            rows = quarantined = 0
            if table_exists(connection, LANDING_SCHEMA, table):
                rows = connection.execute(sa.text(f"SELECT count(*) FROM {LANDING_SCHEMA}.{table}")).scalar()
            if has_quarantine:
                quarantined = connection.execute(
                    sa.text(f"SELECT count(*) FROM {LANDING_SCHEMA}.{QUARANTINE_TABLE} WHERE table_name = :t"),
                    {"t": table},
                ).scalar()
            last = account(connection, system, table, load_id) if load_id else None
            statuses.append(
                TableStatus(
                    system=system,
                    table=table,
                    rows=int(rows),
                    last_load_at=_load_time(connection, load_id),
                    last_read=last.read if last else 0,
                    last_landed=last.landed if last else 0,
                    last_quarantined=last.quarantined if last else 0,
                    quarantined_total=int(quarantined),
                )
            )
    return statuses


@dataclass(frozen=True)
class QuarantinedRow:
    system: str
    table: str
    load_id: str
    quarantined_at: datetime
    checks: list[dict[str, str]]
    masked: dict


def quarantined_rows(
    engine: sa.Engine, system: str | None = None, table: str | None = None, limit: int = 50
) -> list[QuarantinedRow]:
    """The newest quarantined rows, personal fields masked: safe to print."""
    with engine.connect() as connection:
        if not table_exists(connection, LANDING_SCHEMA, QUARANTINE_TABLE):
            return []
        quarantine = sa.table(
            QUARANTINE_TABLE,
            *(
                sa.column(c)
                for c in (
                    "system",
                    "table_name",
                    "_dlt_load_id",
                    "quarantined_at",
                    "checks",
                    "raw",
                    "quarantine_id",
                )
            ),
            schema=LANDING_SCHEMA,
        )
        c = quarantine.c
        query = sa.select(c.system, c.table_name, c._dlt_load_id, c.quarantined_at, c.checks, c.raw)
        if system:
            query = query.where(c.system == system)
        if table:
            query = query.where(c.table_name == table)
        query = query.order_by(c.quarantined_at.desc(), c.quarantine_id).limit(limit)
        rows = connection.execute(query).all()
    return [
        QuarantinedRow(r[0], r[1], r[2], r[3], json.loads(r[4]), mask_record(described(r[1]), json.loads(r[5])))
        for r in rows
    ]


@dataclass(frozen=True)
class GoldenSummary:
    customers: int
    source_records: int
    by_systems: dict[str, int]  # 'erp,esp' -> customers seen in exactly those systems
    possible_matches: int


def golden_summary(engine: sa.Engine) -> GoldenSummary | None:
    """How many golden customers, and across which systems they were found; None before matching."""
    with engine.connect() as connection:
        if not table_exists(connection, HUB_SCHEMA, "golden_customer"):
            return None
        golden, count = schema.golden_customer.c, sa.func.count()
        customers, records = connection.execute(
            sa.select(count, sa.func.coalesce(sa.func.sum(golden.source_records), 0))
        ).one()
        systems = connection.execute(
            sa.select(golden.source_systems, count).group_by(golden.source_systems).order_by(count.desc())
        ).all()
        possible = connection.execute(sa.select(count).where(schema.match_pair.c.outcome == "possible")).scalar()
    return GoldenSummary(int(customers), int(records), {s: int(n) for s, n in systems}, int(possible))


def consent_summary(engine: sa.Engine) -> dict[str, tuple[int, dict[str, int]]]:
    """Per purpose: customers who granted it, and how many are decided by each basis (counts only)."""
    with engine.connect() as connection:
        if not table_exists(connection, HUB_SCHEMA, "consent_state"):
            return {}
        state = schema.consent_state.c
        granted = sa.func.sum(sa.case((state.granted, 1), else_=0))
        rows = connection.execute(
            sa.select(state.purpose, state.basis, sa.func.count(), granted)
            .group_by(state.purpose, state.basis)
            .order_by(state.purpose, state.basis)
        ).all()
    summary: dict[str, tuple[int, dict[str, int]]] = {}
    for purpose, basis, count, granted in rows:
        total_granted, by_basis = summary.get(purpose, (0, {}))
        summary[purpose] = (total_granted + int(granted or 0), {**by_basis, basis: int(count)})
    return summary
