"""The matching settings a model was fitted with, stored beside it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "mdm"


def upgrade() -> None:
    # One row: the settings (blocking, comparisons, thresholds, estimation) of the model in mdm.match_model,
    # so that a rebuild or the benchmark reproduces the model from the database alone.
    op.create_table(
        "match_settings",
        sa.Column("fitted_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("settings", sa.Text, nullable=False),  # JSON of transforms.matching.settings.MatchSettings
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("match_settings", schema=SCHEMA)
