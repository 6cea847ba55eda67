"""When a step that derives from the hub's own tables last read them (``mdm.step_progress``), and the golden
sources digest each customer's consent was derived with, so that the consent state is derived again only for
the customers whose events, records or flags changed since, and the access views are made again only when
they would differ.

No rows and no digests at first: the first run after the upgrade derives every customer's consent once more.

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
    op.add_column("consent_state", sa.Column("sources_digest", sa.String), schema="mdm")


def downgrade() -> None:
    op.drop_column("consent_state", "sources_digest", schema="mdm")
    op.drop_table("step_progress", schema="mdm")
