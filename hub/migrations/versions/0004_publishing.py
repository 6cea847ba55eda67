"""Publishing audiences: what each tool was last delivered, the plan of each run, and the sync log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "mdm"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # What each destination's tool confirmed, per audience and tool key: the hub diffs against this, never
    # against the tool. A row exists from the tool's confirmation until the tool confirms its removal.
    op.create_table(
        "publish_state",
        sa.Column("destination", sa.String, primary_key=True),
        sa.Column("target", sa.String, primary_key=True),  # the tool's key; the customer ID for ad lists
        sa.Column("audience", sa.String, primary_key=True),
        sa.Column("tool", sa.String, nullable=False),  # esp | webshop | loyalty | ads
        sa.Column("payload", sa.String, nullable=False),  # ad lists: hashed email and phone; '' otherwise
        sa.Column("adopted", sa.Boolean, nullable=False),  # the tool held it before the hub: never removed
        sa.Column("run_id", sa.String, nullable=False),
        sa.Column("delivered_at", TS, nullable=False),
        schema=SCHEMA,
    )
    # The plan of the latest run, written before anything is sent; each item marked as its tool answers.
    op.create_table(
        "publish_outbox",
        sa.Column("run_id", sa.String, primary_key=True),
        sa.Column("destination", sa.String, primary_key=True),
        sa.Column("target", sa.String, primary_key=True),
        sa.Column("audience", sa.String, primary_key=True),
        sa.Column("tool", sa.String, nullable=False),
        sa.Column("operation", sa.String, nullable=False),  # add | change | remove
        sa.Column("payload", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),  # pending | sent | absent | rejected | failed
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.String),
        sa.Column("updated_at", TS, nullable=False),
        schema=SCHEMA,
    )
    # What was sent to whom and when: the person only by pseudonym (a keyed hash of the tool's key).
    op.create_table(
        "sync_log",
        sa.Column("run_id", sa.String, nullable=False),
        sa.Column("destination", sa.String, nullable=False),
        sa.Column("tool", sa.String, nullable=False),
        sa.Column("audience", sa.String, nullable=False),
        sa.Column("target_ref", sa.String, nullable=False),
        sa.Column("operation", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),  # sent | absent | rejected | failed
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.String),
        sa.Column("logged_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("sync_log_run", "sync_log", ["run_id"], schema=SCHEMA)
    op.create_index("sync_log_target", "sync_log", ["target_ref"], schema=SCHEMA)
    op.create_table(
        "publish_run",
        sa.Column("run_id", sa.String, primary_key=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("status", sa.String, nullable=False),  # sending | done | failed | interrupted
        sa.Column("forced", sa.Boolean, nullable=False),
        sa.Column("summary", sa.String, nullable=False),  # JSON: counts per destination, no keys
        schema=SCHEMA,
    )
    # One row per destination ever synced: a first sync only adds, and a state that vanished is noticed.
    op.create_table(
        "publish_destination",
        sa.Column("destination", sa.String, primary_key=True),
        sa.Column("tool", sa.String, nullable=False),
        sa.Column("first_run_id", sa.String, nullable=False),
        sa.Column("last_run_id", sa.String, nullable=False),
        sa.Column("delivered_rows", sa.BigInteger, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        schema=SCHEMA,
    )
    # The last file written per destination and file: an unchanged file is not written again.
    op.create_table(
        "publish_file",
        sa.Column("destination", sa.String, primary_key=True),
        sa.Column("file_key", sa.String, primary_key=True),  # the audience of an ad list; 'snapshot' for loyalty
        sa.Column("file_name", sa.String, nullable=False),
        sa.Column("sha256", sa.String, nullable=False),
        sa.Column("lines", sa.BigInteger, nullable=False),  # members or hashed lines in it
        sa.Column("run_id", sa.String, nullable=False),
        sa.Column("written_at", TS, nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("publish_file", "publish_destination", "publish_run", "sync_log", "publish_outbox", "publish_state"):
        op.drop_table(table, schema=SCHEMA)
