"""Customer metrics without a primary key: every run replaces them whole, and on DuckDB deleting every row
of a keyed table costs some twenty times writing it (each key leaves its index one by one: at 400,000
customers over three minutes per table and run). PostgreSQL keeps an index on the customer for reading
one customer's row.

The rows are copied across. The access views and grants over these tables are made again by the next
run's access step (``hub.access``); on PostgreSQL the old views go with the old tables.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SCHEMA = "mdm"
TS = sa.DateTime(timezone=True)
TABLES = ("customer_metrics", "customer_metrics_previous")


def _columns(keyed: bool) -> list[sa.Column]:
    """The columns as revision 0006 made them (a migration keeps its own copy: hub.schema moves on)."""
    money = sa.Numeric(14, 2)
    return [
        sa.Column("customer_id", sa.String, primary_key=keyed, nullable=False),
        sa.Column("first_purchase_at", TS),
        sa.Column("last_purchase_at", TS),
        sa.Column("orders_total", sa.Integer, nullable=False),
        sa.Column("orders_12m", sa.Integer, nullable=False),
        sa.Column("revenue_total_eur", money, nullable=False),
        sa.Column("revenue_12m_eur", money, nullable=False),
        sa.Column("returns_eur", money, nullable=False),
        sa.Column("channels", sa.String, nullable=False),
        sa.Column("r_score", sa.SmallInteger),
        sa.Column("f_score", sa.SmallInteger),
        sa.Column("m_score", sa.SmallInteger),
        sa.Column("rfm_segment", sa.String, nullable=False),
        sa.Column("lifecycle_stage", sa.String, nullable=False),
        sa.Column("abc_class", sa.String, nullable=False),
        sa.Column("value_quadrant", sa.String),
        sa.Column("churn_risk", sa.Float),
        sa.Column("churn_signals", sa.String, nullable=False),
        sa.Column("p_alive", sa.Float),
        sa.Column("expected_orders_12m", sa.Float, nullable=False),
        sa.Column("expected_revenue_12m_eur", money, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("computed_at", TS, nullable=False),
    ]


def _recreate(name: str, keyed: bool) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    old = f"{name}_old"
    if postgres and keyed:
        op.drop_index(f"{name}_customer", name, schema=SCHEMA)
    op.execute(f"ALTER TABLE {SCHEMA}.{name} RENAME TO {old}")  # Alembic would qualify the new name: DuckDB refuses
    op.create_table(name, *_columns(keyed), schema=SCHEMA)
    op.execute(f"INSERT INTO {SCHEMA}.{name} SELECT * FROM {SCHEMA}.{old}")
    op.execute(f"DROP TABLE {SCHEMA}.{old}" + (" CASCADE" if postgres else ""))
    if postgres and not keyed:
        op.create_index(f"{name}_customer", name, ["customer_id"], schema=SCHEMA)


def upgrade() -> None:
    for name in TABLES:
        _recreate(name, keyed=False)


def downgrade() -> None:
    for name in TABLES:
        _recreate(name, keyed=True)
