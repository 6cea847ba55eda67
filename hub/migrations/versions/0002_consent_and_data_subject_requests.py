"""Consent ledger and state, subject flags, data-subject requests, suppression, audit log, API clients.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "mdm"
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Append-only: one row per consent event seen in a system or made by a request; never updated.
    op.create_table(
        "consent_event",
        sa.Column("event_id", sa.String, primary_key=True),
        sa.Column("source_system", sa.String, nullable=False),  # erp | webshop | loyalty | esp | dsr
        sa.Column("source_key", sa.String, nullable=False),  # the record's key; a request's customer id
        sa.Column("purpose", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),  # grant | withdraw | ban | objection
        sa.Column("occurred_at", TS),
        sa.Column("evidence", sa.String, nullable=False),  # wording, status or permission id as the system gave it
        sa.Column("ip", sa.String),
        sa.Column("request_id", sa.String),
        sa.Column("recorded_at", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("consent_event_source", "consent_event", ["source_system", "source_key"], schema=SCHEMA)
    op.create_table(
        "consent_state",
        sa.Column("customer_id", sa.String, primary_key=True),
        sa.Column("purpose", sa.String, primary_key=True),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("basis", sa.String, nullable=False),
        sa.Column("rule", sa.String, nullable=False),
        sa.Column("event_id", sa.String),
        sa.Column("updated_at", TS, nullable=False),
        schema=SCHEMA,
    )
    # Restriction (Art. 18) and objection (Art. 21) that follow a customer through merges.
    op.create_table(
        "subject_flag",
        sa.Column("customer_id", sa.String, primary_key=True),
        sa.Column("flag", sa.String, primary_key=True),  # restricted | objected
        sa.Column("request_id", sa.String, nullable=False),
        sa.Column("since", TS, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "dsr_request",
        sa.Column("request_id", sa.String, primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("identifier_kind", sa.String, nullable=False),
        sa.Column("identifier", sa.String),  # cleared when the request completes an erasure
        sa.Column("subject_ref", sa.String, nullable=False),  # keyed hash of the identifier
        sa.Column("customer_id", sa.String),  # cleared when the request completes an erasure
        sa.Column("details", sa.String),  # JSON: what a rectification changes, why a request was refused
        sa.Column("received_at", TS, nullable=False),
        sa.Column("verified_at", TS),
        sa.Column("verification", sa.String),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("extended_to", sa.Date),
        sa.Column("extension_reason", sa.String),
        sa.Column("completed_at", TS),
        sa.Column("requested_by", sa.String, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "dsr_event",
        sa.Column("request_id", sa.String, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("step", sa.String, nullable=False),
        sa.Column("detail", sa.String),
        sa.PrimaryKeyConstraint("request_id", "seq"),
        schema=SCHEMA,
    )
    # What the hub told each tool on a request's behalf, with the tool's receipt.
    op.create_table(
        "dsr_notification",
        sa.Column("request_id", sa.String, nullable=False),
        sa.Column("system", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),  # delete | update
        sa.Column("target_ref", sa.String, nullable=False),  # keyed hash of the tool's key
        sa.Column("target", sa.String),  # the tool's key itself, kept only until the tool confirms
        sa.Column("status", sa.String, nullable=False),  # pending | sent | failed
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("receipt", sa.String),
        sa.Column("sent_at", TS),
        sa.PrimaryKeyConstraint("request_id", "system", "action", "target_ref"),
        schema=SCHEMA,
    )
    # Keyed hashes of an erased person's identifiers: the landing step holds them back on every load.
    op.create_table(
        "suppression",
        sa.Column("identifier_hash", sa.String, primary_key=True),
        sa.Column("identifier_kind", sa.String, nullable=False),  # email | phone | record
        sa.Column("request_id", sa.String, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        schema=SCHEMA,
    )
    # Landing rows an erasure removed after their load, so that the load still accounts for every row read.
    op.create_table(
        "landing_erasure",
        sa.Column("load_id", sa.String, primary_key=True),
        sa.Column("table_name", sa.String, primary_key=True),
        sa.Column("request_id", sa.String, primary_key=True),
        sa.Column("rows_erased", sa.BigInteger, nullable=False),
        schema=SCHEMA,
    )
    # The highest customer ID ever issued, kept apart from the ID history an erasure deletes: IDs are never reused.
    op.create_table(
        "customer_id_high_water",
        sa.Column("highest", sa.BigInteger, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "rectification",
        sa.Column("customer_id", sa.String, primary_key=True),
        sa.Column("attribute", sa.String, primary_key=True),
        sa.Column("value", sa.String),
        sa.Column("rectified_at", TS, nullable=False),
        sa.Column("request_id", sa.String, nullable=False),
        # JSON {record: keyed hash of its value then}: a system that changes its value again wins
        sa.Column("source_fingerprints", sa.String, nullable=False),
        schema=SCHEMA,
    )
    # Append-only and hash-chained: entry n stores the hash of entry n-1 and its own.
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("subject_ref", sa.String),
        sa.Column("purpose", sa.String),
        sa.Column("detail", sa.String, nullable=False),
        sa.Column("prev_hash", sa.String, nullable=False),
        sa.Column("entry_hash", sa.String, nullable=False),
        schema=SCHEMA,
    )
    if op.get_bind().dialect.name == "postgresql":
        _refuse_rewrites()
    op.create_table(
        "api_client",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("token_hash", sa.String, nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
        schema=SCHEMA,
    )


def _refuse_rewrites() -> None:
    """PostgreSQL enforces what the application promises: the audit log is never changed or cut, and a
    consent event is never changed (an erasure may delete a person's events, nothing may rewrite them)."""
    op.execute(
        f"CREATE FUNCTION {SCHEMA}.refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
    )
    op.execute(
        f"CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON {SCHEMA}.audit_log "
        f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.refuse_rewrite()"
    )
    op.execute(
        f"CREATE TRIGGER audit_log_never_truncated BEFORE TRUNCATE ON {SCHEMA}.audit_log "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_rewrite()"
    )
    op.execute(
        f"CREATE TRIGGER consent_event_never_rewritten BEFORE UPDATE ON {SCHEMA}.consent_event "
        f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.refuse_rewrite()"
    )


def downgrade() -> None:
    for table in (
        "api_client",
        "audit_log",
        "rectification",
        "customer_id_high_water",
        "landing_erasure",
        "suppression",
        "dsr_notification",
        "dsr_event",
        "dsr_request",
        "subject_flag",
        "consent_state",
        "consent_event",
    ):
        op.drop_table(table, schema=SCHEMA)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.refuse_rewrite()")
