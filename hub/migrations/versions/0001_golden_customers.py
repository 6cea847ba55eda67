"""Golden customers: standardised source records, match model and pairs, overrides, IDs, lineage.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "mdm"
TS = sa.DateTime(timezone=True)
FEATURES = ("first_name", "last_name", "email", "phone", "birth", "address")


def upgrade() -> None:
    op.create_table(
        "source_record",
        sa.Column("unique_id", sa.String, primary_key=True),
        sa.Column("source_system", sa.String, nullable=False),
        sa.Column("source_key", sa.String, nullable=False),
        sa.Column("first_name_display", sa.String),
        sa.Column("last_name_display", sa.String),
        sa.Column("first_name", sa.String),
        sa.Column("last_name", sa.String),
        sa.Column("email", sa.String),
        sa.Column("email_local", sa.String),
        sa.Column("phone", sa.String),
        sa.Column("birth_date", sa.Date),
        sa.Column("birth_month_day", sa.String),
        sa.Column("street_display", sa.String),
        sa.Column("street", sa.String),
        sa.Column("street_name", sa.String),
        sa.Column("postal_code", sa.String),
        sa.Column("city_display", sa.String),
        sa.Column("city", sa.String),
        sa.Column("updated_at", TS),
        sa.Column("fingerprint", sa.String, nullable=False),
        sa.Column("matched_fingerprint", sa.String),
        schema=SCHEMA,
    )
    op.create_table(
        "match_model",
        sa.Column("feature", sa.String, primary_key=True),
        sa.Column("level", sa.Integer, primary_key=True),
        sa.Column("level_name", sa.String, nullable=False),
        sa.Column("m", sa.Float, nullable=False),
        sa.Column("u", sa.Float, nullable=False),
        sa.Column("fitted_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "match_pair",
        sa.Column("left_id", sa.String, primary_key=True),
        sa.Column("right_id", sa.String, primary_key=True),
        *(sa.Column(f"level_{f}", sa.SmallInteger, nullable=False) for f in FEATURES),
        *(sa.Column(f"weight_{f}", sa.Float, nullable=False) for f in FEATURES),
        sa.Column("match_weight", sa.Float, nullable=False),
        sa.Column("match_probability", sa.Float, nullable=False),
        sa.Column("outcome", sa.String, nullable=False),
        sa.Column("conflict", sa.Boolean, nullable=False),
        sa.Column("scored_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("match_pair_right", "match_pair", ["right_id"], schema=SCHEMA)
    op.create_table(
        "match_override",
        sa.Column("override_id", sa.String, primary_key=True),
        sa.Column("left_id", sa.String, nullable=False),
        sa.Column("right_id", sa.String, nullable=False),
        sa.Column("decision", sa.String, nullable=False),
        sa.Column("decided_by", sa.String, nullable=False),
        sa.Column("reason", sa.String),
        sa.Column("decided_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "customer_xref",
        sa.Column("source_system", sa.String, primary_key=True),
        sa.Column("source_key", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("customer_xref_customer", "customer_xref", ["customer_id"], schema=SCHEMA)
    op.create_table(
        "customer_id_history",
        sa.Column("customer_id", sa.String, nullable=False),
        sa.Column("event", sa.String, nullable=False),
        sa.Column("related_id", sa.String),
        sa.Column("run_id", sa.String, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("customer_id_history_customer", "customer_id_history", ["customer_id"], schema=SCHEMA)
    op.create_table(
        "golden_customer",
        sa.Column("customer_id", sa.String, primary_key=True),
        sa.Column("first_name", sa.String),
        sa.Column("last_name", sa.String),
        sa.Column("email", sa.String),
        sa.Column("phone", sa.String),
        sa.Column("birth_date", sa.Date),
        sa.Column("street", sa.String),
        sa.Column("postal_code", sa.String),
        sa.Column("city", sa.String),
        sa.Column("source_records", sa.Integer, nullable=False),
        sa.Column("source_systems", sa.String, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "golden_lineage",
        sa.Column("customer_id", sa.String, primary_key=True),
        sa.Column("attribute", sa.String, primary_key=True),
        sa.Column("source_system", sa.String, nullable=False),
        sa.Column("source_key", sa.String, nullable=False),
        sa.Column("source_updated_at", TS),
        sa.Column("rule", sa.String, nullable=False),
        sa.Column("candidates", sa.Integer, nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in (
        "golden_lineage",
        "golden_customer",
        "customer_id_history",
        "customer_xref",
        "match_override",
        "match_pair",
        "match_model",
        "source_record",
    ):
        op.drop_table(table, schema=SCHEMA)
