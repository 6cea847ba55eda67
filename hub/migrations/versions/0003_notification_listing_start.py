"""A webshop account's erasure receipt keeps where the listing of its orders started.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "mdm"


def upgrade() -> None:
    # The shop cannot list one customer's orders: the hub lists orders modified since this time and keeps
    # those of the account, so that a resend after the hub forgot the person's orders lists from here again.
    op.add_column("dsr_notification", sa.Column("listed_since", sa.DateTime(timezone=False)), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("dsr_notification", "listed_since", schema=SCHEMA)
