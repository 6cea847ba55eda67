"""Fingerprints that tell a run what changed since the last one, so that it works on the change alone:
each source record's raw identity fields (standardisation) and each golden customer's sources
(survivorship).

Existing rows get none: the first run after the upgrade standardises every record and survives every
customer once more.

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

COLUMNS = {"source_record": "raw_fingerprint", "golden_customer": "sources_digest"}


def upgrade() -> None:
    for table, column in COLUMNS.items():
        op.add_column(table, sa.Column(column, sa.String), schema="mdm")


def downgrade() -> None:
    for table, column in COLUMNS.items():
        op.drop_column(table, column, schema="mdm")
