"""A fingerprint of each source record's raw identity fields, so that a run standardises only the records
whose raw fields (or the standardisation itself) changed since the last run.

Existing rows get none: the first run after the upgrade standardises every record once more.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source_record", sa.Column("raw_fingerprint", sa.String), schema="mdm")


def downgrade() -> None:
    op.drop_column("source_record", "raw_fingerprint", schema="mdm")
