"""Indexes for finding one person: by email or phone, through merged IDs, in the audit log and audiences.

A data-subject request and an API lookup read a handful of rows of tables with up to millions: without
these, every one of them reads the whole table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = "mdm"
INDEXES = {
    "source_record_email": ("source_record", ["email"]),
    "source_record_phone": ("source_record", ["phone"]),
    "customer_id_history_related": ("customer_id_history", ["related_id"]),
    "audit_log_subject": ("audit_log", ["subject_ref"]),
    "segment_membership_customer": ("segment_membership", ["customer_id"]),
    "audience_membership_customer": ("audience_membership", ["customer_id"]),
    "audience_decision_customer": ("audience_decision", ["customer_id"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, schema=SCHEMA)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table, schema=SCHEMA)
