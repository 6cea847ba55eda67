"""When a step that derives from the hub's own tables last read them, so that the consent state is derived
again only for the customers whose events, records or flags changed since.

No rows at first: the first run after the upgrade derives every customer's consent once more.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "step_progress",
        sa.Column("step", sa.String, primary_key=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code_digest", sa.String, nullable=False),
        schema="mdm",
    )


def downgrade() -> None:
    op.drop_table("step_progress", schema="mdm")
