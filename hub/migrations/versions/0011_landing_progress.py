"""How far a step has read each landed table (the newest dlt load taken in), so that the consent ledger reads
only the rows landed since its last run.

No rows at first: the first run after the upgrade reads every landed row once more.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "landing_progress",
        sa.Column("step", sa.String, primary_key=True),
        sa.Column("table_name", sa.String, primary_key=True),
        sa.Column("load_id", sa.String, nullable=False),
        sa.Column("code_digest", sa.String, nullable=False),
        schema="mdm",
    )


def downgrade() -> None:
    op.drop_table("landing_progress", schema="mdm")
