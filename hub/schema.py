"""The hub's own tables (schema ``mdm``), described once as SQLAlchemy Core ``MetaData``.

Queries build their statements from these ``Table`` objects, so a renamed or retyped column is a
change in one place that every reader follows (or fails to import). The Alembic migrations under
``hub/migrations`` are the history that brings a database to this description; ``env.py`` gives
Alembic this metadata (so autogenerate drafts the next migration), and ``tests/test_schema.py`` proves
that the migrated database and this description agree on both stores.
The landing schema is not here: dlt owns and evolves it, and ``quality/tables`` describes it.
"""

from __future__ import annotations

import sqlalchemy as sa

from transforms.matching.settings import BLOCKING_KEYS

SCHEMA = "mdm"
TS = sa.DateTime(timezone=True)
MATCH_FEATURES = ("first_name", "last_name", "email", "phone", "birth", "address")

metadata = sa.MetaData(schema=SCHEMA)


def only_the_hubs_tables(name: str | None, type_: str, parent_names: dict) -> bool:
    """For Alembic's autogenerate: the ``mdm`` schema alone, without Alembic's own version table (landing
    is dlt's, the access views are rebuilt by the pipeline)."""
    if type_ == "schema":
        return name == SCHEMA
    return not (type_ == "table" and name == "alembic_version")


def _table(name: str, *columns: sa.SchemaItem) -> sa.Table:
    return sa.Table(name, metadata, *columns)


# --- matching and golden customers -----------------------------------------------------------------

source_record = _table(
    "source_record",
    sa.Column("unique_id", sa.String, primary_key=True),
    sa.Column("source_system", sa.String, nullable=False),
    sa.Column("source_key", sa.String, nullable=False),
    sa.Column("first_name_display", sa.String),
    sa.Column("last_name_display", sa.String),
    sa.Column("first_name", sa.String),
    sa.Column("last_name", sa.String),
    sa.Column("email", sa.String),
    sa.Column("email_local", sa.String),
    sa.Column("phone", sa.String),
    sa.Column("birth_date", sa.Date),
    sa.Column("birth_month_day", sa.String),
    sa.Column("street_display", sa.String),
    sa.Column("street", sa.String),
    sa.Column("street_name", sa.String),
    sa.Column("postal_code", sa.String),
    sa.Column("city_display", sa.String),
    sa.Column("city", sa.String),
    sa.Column("updated_at", TS),
    sa.Column("fingerprint", sa.String, nullable=False),
    sa.Column("matched_fingerprint", sa.String),
    # The fingerprint as of the record's last clustering; cleared when a pair or a steward's decision touching
    # the record changes, so that clustering knows which parts of the match graph to redo.
    sa.Column("clustered_fingerprint", sa.String),
    # The raw identity fields and the standardisation's code as of the record's last standardising.
    sa.Column("raw_fingerprint", sa.String),
    # An ERP customer the ERP soft-deleted: still the person's record (its invoices stay with them), but it
    # gives no value to the golden record.
    sa.Column("soft_deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    # Finding a person by what they give (requests, the API's lookup).
    sa.Index("source_record_email", "email"),
    sa.Index("source_record_phone", "phone"),
)

match_model = _table(
    "match_model",
    sa.Column("feature", sa.String, primary_key=True),
    sa.Column("level", sa.Integer, primary_key=True),
    sa.Column("level_name", sa.String, nullable=False),
    sa.Column("m", sa.Float, nullable=False),
    sa.Column("u", sa.Float, nullable=False),
    sa.Column("fitted_at", TS, nullable=False),
)

# One row: the settings of the model in match_model, so that a rebuild reproduces it from the database alone.
match_settings = _table(
    "match_settings",
    sa.Column("fitted_at", TS, primary_key=True),
    sa.Column("settings", sa.Text, nullable=False),  # JSON of transforms.matching.settings.MatchSettings
)

# Each record's blocking keys as keyed 64-bit hashes (``transforms.matching.blocking.hashed_keys``), with the basis
# they were made from (the record's fingerprint, the keys' code and key): an incremental run makes again only
# the keys of records whose basis changed. A record that borrows names from its email has no row.
blocking_key = _table(
    "blocking_key",
    sa.Column("unique_id", sa.String, primary_key=True),
    sa.Column("basis", sa.String, nullable=False),
    *(sa.Column(name, sa.BigInteger) for name in BLOCKING_KEYS),  # one column per key the matcher knows
)

match_pair = _table(
    "match_pair",
    sa.Column("left_id", sa.String, primary_key=True),
    sa.Column("right_id", sa.String, primary_key=True),
    *(sa.Column(f"level_{f}", sa.SmallInteger, nullable=False) for f in MATCH_FEATURES),
    *(sa.Column(f"weight_{f}", sa.Float, nullable=False) for f in MATCH_FEATURES),
    sa.Column("match_weight", sa.Float, nullable=False),
    sa.Column("match_probability", sa.Float, nullable=False),
    sa.Column("outcome", sa.String, nullable=False),
    sa.Column("conflict", sa.Boolean, nullable=False),
    sa.Column("scored_at", TS, nullable=False),
    sa.Index("match_pair_right", "right_id"),
)

match_override = _table(
    "match_override",
    sa.Column("override_id", sa.String, primary_key=True),
    sa.Column("left_id", sa.String, nullable=False),
    sa.Column("right_id", sa.String, nullable=False),
    sa.Column("decision", sa.String, nullable=False),
    sa.Column("decided_by", sa.String, nullable=False),
    sa.Column("reason", sa.String),
    sa.Column("decided_at", TS, nullable=False),
)

customer_xref = _table(
    "customer_xref",
    sa.Column("source_system", sa.String, primary_key=True),
    sa.Column("source_key", sa.String, primary_key=True),
    sa.Column("customer_id", sa.String, nullable=False),
    sa.Index("customer_xref_customer", "customer_id"),
)

customer_id_history = _table(
    "customer_id_history",
    sa.Column("customer_id", sa.String, nullable=False),
    sa.Column("event", sa.String, nullable=False),
    sa.Column("related_id", sa.String),
    sa.Column("run_id", sa.String, nullable=False),
    sa.Column("recorded_at", TS, nullable=False),
    sa.Index("customer_id_history_customer", "customer_id"),
    sa.Index("customer_id_history_related", "related_id"),  # the IDs merged into a customer's
)

# The highest customer ID ever issued, kept apart from the ID history an erasure deletes: IDs are never reused.
customer_id_high_water = _table(
    "customer_id_high_water",
    sa.Column("highest", sa.BigInteger, nullable=False),
)

# How far a step has read each landed table: the newest dlt load it has taken in, and a digest of the code that
# read it. Landing merges on keys, so a row keeps the load that last wrote it: a step that turns rows into
# something by themselves (consent events, source records) need read only rows of later loads. A new digest
# reads all again.
landing_progress = _table(
    "landing_progress",
    sa.Column("step", sa.String, primary_key=True),
    sa.Column("table_name", sa.String, primary_key=True),
    sa.Column("load_id", sa.String, nullable=False),
    sa.Column("code_digest", sa.String, nullable=False),
)

# When a step that derives from the hub's own tables last read them, and a digest of what it derives from: the
# consent state is derived again only for customers with events recorded since (or whose records or flags
# changed), the access views are made again only when the views they would be changed (a new digest does
# everything again).
step_progress = _table(
    "step_progress",
    sa.Column("step", sa.String, primary_key=True),
    sa.Column("read_at", TS, nullable=False),
    sa.Column("code_digest", sa.String, nullable=False),
)

golden_customer = _table(
    "golden_customer",
    sa.Column("customer_id", sa.String, primary_key=True),
    sa.Column("first_name", sa.String),
    sa.Column("last_name", sa.String),
    sa.Column("email", sa.String),
    sa.Column("phone", sa.String),
    sa.Column("birth_date", sa.Date),
    sa.Column("street", sa.String),
    sa.Column("postal_code", sa.String),
    sa.Column("city", sa.String),
    sa.Column("source_records", sa.Integer, nullable=False),
    sa.Column("source_systems", sa.String, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    # Its records' raw fingerprints and the survivorship rules as of its last survival (sources_digests).
    sa.Column("sources_digest", sa.String),
)

golden_lineage = _table(
    "golden_lineage",
    sa.Column("customer_id", sa.String, primary_key=True),
    sa.Column("attribute", sa.String, primary_key=True),
    sa.Column("source_system", sa.String, nullable=False),
    sa.Column("source_key", sa.String, nullable=False),
    sa.Column("source_updated_at", TS),
    sa.Column("rule", sa.String, nullable=False),
    sa.Column("candidates", sa.Integer, nullable=False),
)

# --- consent, subject flags, data-subject requests ------------------------------------------------

# Append-only: one row per consent event seen in a system or made by a request; never updated.
consent_event = _table(
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
    sa.Index("consent_event_source", "source_system", "source_key"),
)

consent_state = _table(
    "consent_state",
    sa.Column("customer_id", sa.String, primary_key=True),
    sa.Column("purpose", sa.String, primary_key=True),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("basis", sa.String, nullable=False),
    sa.Column("rule", sa.String, nullable=False),
    sa.Column("event_id", sa.String),
    sa.Column("updated_at", TS, nullable=False),
    # The records part of the customer's golden sources_digest it was derived with: one whose records changed
    # is derived again.
    sa.Column("sources_digest", sa.String),
)

# Restriction (Art. 18) and objection (Art. 21) that follow a customer through merges.
subject_flag = _table(
    "subject_flag",
    sa.Column("customer_id", sa.String, primary_key=True),
    sa.Column("flag", sa.String, primary_key=True),  # restricted | objected
    sa.Column("request_id", sa.String, nullable=False),
    sa.Column("since", TS, nullable=False),
)

dsr_request = _table(
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
)

dsr_event = _table(
    "dsr_event",
    sa.Column("request_id", sa.String, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("recorded_at", TS, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("step", sa.String, nullable=False),
    sa.Column("detail", sa.String),
)

# What the hub told each tool on a request's behalf, with the tool's receipt.
dsr_notification = _table(
    "dsr_notification",
    sa.Column("request_id", sa.String, primary_key=True),
    sa.Column("system", sa.String, primary_key=True),
    sa.Column("action", sa.String, primary_key=True),  # delete | update
    sa.Column("target_ref", sa.String, primary_key=True),  # keyed hash of the tool's key
    sa.Column("target", sa.String),  # the tool's key itself, kept only until the tool confirms
    sa.Column("status", sa.String, nullable=False),  # pending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("receipt", sa.String),
    sa.Column("sent_at", TS),
    # The shop cannot list one customer's orders: the hub lists orders modified since this time.
    sa.Column("listed_since", sa.DateTime(timezone=False)),
)

# Keyed hashes of an erased person's identifiers: the landing step holds them back on every load.
suppression = _table(
    "suppression",
    sa.Column("identifier_hash", sa.String, primary_key=True),
    sa.Column("identifier_kind", sa.String, nullable=False),  # email | phone | record
    sa.Column("request_id", sa.String, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

# Landing rows an erasure removed after their load, so that the load still accounts for every row read.
landing_erasure = _table(
    "landing_erasure",
    sa.Column("load_id", sa.String, primary_key=True),
    sa.Column("table_name", sa.String, primary_key=True),
    sa.Column("request_id", sa.String, primary_key=True),
    sa.Column("rows_erased", sa.BigInteger, nullable=False),
)

rectification = _table(
    "rectification",
    sa.Column("customer_id", sa.String, primary_key=True),
    sa.Column("attribute", sa.String, primary_key=True),
    sa.Column("value", sa.String),
    sa.Column("rectified_at", TS, nullable=False),
    sa.Column("request_id", sa.String, nullable=False),
    # JSON {record: keyed hash of its value then}: a system that changes its value again wins
    sa.Column("source_fingerprints", sa.String, nullable=False),
)

# Append-only and hash-chained: entry n stores the hash of entry n-1 and its own. PostgreSQL refuses any
# rewrite with triggers (migration 0002), which MetaData does not describe.
audit_log = _table(
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
    sa.Index("audit_log_subject", "subject_ref"),  # an access report's reads of the person
)

api_client = _table(
    "api_client",
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("token_hash", sa.String, nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("revoked_at", TS),
)

# --- publishing ------------------------------------------------------------------------------------

# What each destination's tool confirmed, per audience and tool key: the hub diffs against this, never
# against the tool. A row exists from the tool's confirmation until the tool confirms its removal.
publish_state = _table(
    "publish_state",
    sa.Column("destination", sa.String, primary_key=True),
    sa.Column("target", sa.String, primary_key=True),  # the tool's key; the customer ID for ad lists
    sa.Column("audience", sa.String, primary_key=True),
    sa.Column("tool", sa.String, nullable=False),  # esp | webshop | loyalty | ads
    sa.Column("payload", sa.String, nullable=False),  # ad lists: hashed email and phone; '' otherwise
    sa.Column("adopted", sa.Boolean, nullable=False),  # the tool held it before the hub: never removed
    sa.Column("run_id", sa.String, nullable=False),
    sa.Column("delivered_at", TS, nullable=False),
)

# The plan of the latest run, written before anything is sent; each item marked as its tool answers.
publish_outbox = _table(
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
)

# What was sent to whom and when: the person only by pseudonym (a keyed hash of the tool's key).
sync_log = _table(
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
    sa.Index("sync_log_run", "run_id"),
    sa.Index("sync_log_target", "target_ref"),
)

publish_run = _table(
    "publish_run",
    sa.Column("run_id", sa.String, primary_key=True),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("finished_at", TS),
    sa.Column("status", sa.String, nullable=False),  # sending | done | failed | interrupted
    sa.Column("forced", sa.Boolean, nullable=False),
    sa.Column("summary", sa.String, nullable=False),  # JSON: counts per destination, no keys
)

# One row per destination ever synced: a first sync only adds, and a state that vanished is noticed.
publish_destination = _table(
    "publish_destination",
    sa.Column("destination", sa.String, primary_key=True),
    sa.Column("tool", sa.String, nullable=False),
    sa.Column("first_run_id", sa.String, nullable=False),
    sa.Column("last_run_id", sa.String, nullable=False),
    sa.Column("delivered_rows", sa.BigInteger, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

# The last file written per destination and file: an unchanged file is not written again.
publish_file = _table(
    "publish_file",
    sa.Column("destination", sa.String, primary_key=True),
    sa.Column("file_key", sa.String, primary_key=True),  # the audience of an ad list; 'snapshot' for loyalty
    sa.Column("file_name", sa.String, nullable=False),
    sa.Column("sha256", sa.String, nullable=False),
    sa.Column("lines", sa.BigInteger, nullable=False),  # members or hashed lines in it
    sa.Column("run_id", sa.String, nullable=False),
    sa.Column("written_at", TS, nullable=False),
)

# --- segments and audiences ------------------------------------------------------------------------


def _metrics_table(name: str) -> sa.Table:
    """Replaced whole by every run (recency moves every day for everyone), so keyless on purpose: on DuckDB,
    deleting every row of a keyed table costs twenty times writing it; one row per customer is the
    computation's (a group by customer). PostgreSQL gets an index for reading one customer's row."""
    money = sa.Numeric(14, 2)
    return _table(
        name,
        sa.Column("customer_id", sa.String, nullable=False),
        sa.Column("first_purchase_at", TS),
        sa.Column("last_purchase_at", TS),
        sa.Column("orders_total", sa.Integer, nullable=False),
        sa.Column("orders_12m", sa.Integer, nullable=False),
        sa.Column("revenue_total_eur", money, nullable=False),
        sa.Column("revenue_12m_eur", money, nullable=False),
        sa.Column("returns_eur", money, nullable=False),
        sa.Column("channels", sa.String, nullable=False),  # the systems they bought in, comma-separated
        sa.Column("r_score", sa.SmallInteger),
        sa.Column("f_score", sa.SmallInteger),
        sa.Column("m_score", sa.SmallInteger),
        sa.Column("rfm_segment", sa.String, nullable=False),
        sa.Column("lifecycle_stage", sa.String, nullable=False),
        sa.Column("abc_class", sa.String, nullable=False),
        sa.Column("value_quadrant", sa.String),
        sa.Column("churn_risk", sa.Float),
        sa.Column("churn_signals", sa.String, nullable=False),
        sa.Column("p_alive", sa.Float),
        sa.Column("expected_orders_12m", sa.Float, nullable=False),
        sa.Column("expected_revenue_12m_eur", money, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("computed_at", TS, nullable=False),
        sa.Index(f"{name}_customer", "customer_id").ddl_if(dialect="postgresql"),
    )


customer_metrics = _metrics_table("customer_metrics")
customer_metrics_previous = _metrics_table("customer_metrics_previous")  # the lifecycle flow

segment_membership = _table(
    "segment_membership",
    sa.Column("segment", sa.String, primary_key=True),
    sa.Column("customer_id", sa.String, primary_key=True),
    sa.Column("entered_at", TS, primary_key=True),
    sa.Column("left_at", TS),  # null while a member
    sa.Index("segment_membership_customer", "customer_id"),
)

segment_size = _table(
    "segment_size",
    sa.Column("segment", sa.String, primary_key=True),
    sa.Column("computed_at", TS, primary_key=True),
    sa.Column("members", sa.Integer, nullable=False),
)

# Who was included in each audience, when: the tools' "changes since".
audience_membership = _table(
    "audience_membership",
    sa.Column("audience", sa.String, primary_key=True),
    sa.Column("customer_id", sa.String, primary_key=True),
    sa.Column("entered_at", TS, primary_key=True),
    sa.Column("left_at", TS),
    sa.Index("audience_membership_customer", "customer_id"),
)

audience_decision = _table(
    "audience_decision",
    sa.Column("audience", sa.String, primary_key=True),
    sa.Column("customer_id", sa.String, primary_key=True),
    sa.Column("included", sa.Boolean, nullable=False),  # in the audience the tools receive
    sa.Column("reason", sa.String, nullable=False),  # 'eligible', or the first rule that keeps them out
    sa.Column("computed_at", TS, nullable=False),  # when this decision and reason were first reached
    sa.Index("audience_decision_customer", "customer_id"),
)
