"""Segments: soft-deleted records kept in the crosswalk, customer metrics, segment membership with history,
segment sizes per run, audiences and why each member is in or out.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEMA = "mdm"
TS = sa.DateTime(timezone=True)


def _metrics(name: str) -> None:
    op.create_table(
        name,
        sa.Column("customer_id", sa.String, primary_key=True),
        sa.Column("first_purchase_at", TS),
        sa.Column("last_purchase_at", TS),
        sa.Column("orders_total", sa.Integer, nullable=False),
        sa.Column("orders_12m", sa.Integer, nullable=False),
        sa.Column("revenue_total_eur", sa.Numeric(14, 2), nullable=False),
        sa.Column("revenue_12m_eur", sa.Numeric(14, 2), nullable=False),
        sa.Column("returns_eur", sa.Numeric(14, 2), nullable=False),
        sa.Column("channels", sa.String, nullable=False),  # the systems they bought in, comma-separated
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
        sa.Column("expected_revenue_12m_eur", sa.Numeric(14, 2), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("computed_at", TS, nullable=False),
        schema=SCHEMA,
    )


def upgrade() -> None:
    # An ERP customer the ERP soft-deleted stays the person's record (their invoices stay with them), but
    # gives no value to the golden record.
    op.add_column(
        "source_record", sa.Column("soft_deleted", sa.Boolean, nullable=False, server_default=sa.false()), schema=SCHEMA
    )
    _metrics("customer_metrics")
    _metrics("customer_metrics_previous")  # the run before: the lifecycle flow between two runs
    op.create_table(
        "segment_membership",
        sa.Column("segment", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, primary_key=True),
        sa.Column("entered_at", TS, primary_key=True),
        sa.Column("left_at", TS),  # null while a member
        schema=SCHEMA,
    )
    op.create_table(
        "segment_size",
        sa.Column("segment", sa.String, primary_key=True),
        sa.Column("computed_at", TS, primary_key=True),
        sa.Column("members", sa.Integer, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "audience_membership",  # who was included in each audience, when: the tools' "changes since"
        sa.Column("audience", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, primary_key=True),
        sa.Column("entered_at", TS, primary_key=True),
        sa.Column("left_at", TS),
        schema=SCHEMA,
    )
    op.create_table(
        "audience_decision",
        sa.Column("audience", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, primary_key=True),
        sa.Column("included", sa.Boolean, nullable=False),  # in the audience the tools receive
        sa.Column("reason", sa.String, nullable=False),  # 'eligible', or the first rule that keeps them out
        sa.Column("computed_at", TS, nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in (
        "audience_decision",
        "audience_membership",
        "segment_size",
        "segment_membership",
        "customer_metrics_previous",
    ):
        op.drop_table(table, schema=SCHEMA)
    op.drop_table("customer_metrics", schema=SCHEMA)
    op.drop_column("source_record", "soft_deleted", schema=SCHEMA)
