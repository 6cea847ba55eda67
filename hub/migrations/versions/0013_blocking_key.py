"""Each record's blocking keys as keyed hashes (``mdm.blocking_key``), kept so that an incremental run makes
again only the keys of records that changed.

No rows at first: the first run after the upgrade makes every record's keys once more.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

KEYS = (
    "email",
    "phone",
    "email_local",
    "email_words",
    "name_provider",
    "name_set",
    "last_birthday",
    "first_birthday",
    "postcode_first",
    "street_initial",
    "name_sounds_postcode",
)


def upgrade() -> None:
    op.create_table(
        "blocking_key",
        sa.Column("unique_id", sa.String, primary_key=True),
        sa.Column("basis", sa.String, nullable=False),
        *(sa.Column(name, sa.BigInteger) for name in KEYS),
        schema="mdm",
    )


def downgrade() -> None:
    op.drop_table("blocking_key", schema="mdm")
