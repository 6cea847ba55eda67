"""The fingerprint each source record had when it was last clustered, so that clustering redoes only the
connected parts of the match graph that changed.

Existing rows get none: the first run after the upgrade clusters every record once more.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source_record", sa.Column("clustered_fingerprint", sa.String), schema="mdm")


def downgrade() -> None:
    op.drop_column("source_record", "clustered_fingerprint", schema="mdm")
