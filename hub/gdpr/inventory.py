"""Where the hub holds personal data: the record of processing that every request works from.

Each holding names a table, why the hub holds it, on what legal basis, for how long, where it came
from, who receives it, how to find one person's rows in it and what an erasure does to them. An
access report lists every holding; an erasure walks them all. ``tests/test_gdpr.py`` checks that
every table in the hub's database is either a holding here or declared free of personal data, so a
new table cannot escape requests unnoticed.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from hub.landed import person_condition
from hub.storage import HUB_SCHEMA, LANDING_SCHEMA
from quality.tables import landed_tables
from quality.tables.common import CONTRACT, HUB_TEAMS, MIRROR, OPERATIONS


@dataclass(frozen=True)
class Holding:
    schema: str
    table: str
    what: str
    purpose: str
    legal_basis: str
    retention: str
    source: str
    recipients: str
    find: str  # SQL condition on the person's rows; bound lists: see ``hub.gdpr.locate.Person.params``
    erasure: str  # delete | pseudonymise | keep (pseudonymous already)

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


_OPERATIONS, _CONTRACT, _MIRROR, _HUB = OPERATIONS, CONTRACT, MIRROR, HUB_TEAMS

# The conditions below are written so that a store can answer them from an index, or at least without
# evaluating an expression on every row of a table of millions to find one person's few: at 400,000 persons
# an access report spent most of its second in such scans. A record is looked for by its system and key
# (one branch per described system, over the per-system lists of ``Person.params``), not by the two glued
# together; an OR of two columns, which no index answers, becomes a lookup of the keys of each side.


def _records_in(system: str, key: str) -> str:
    """Rows naming one of the person's records in the columns ``system`` and ``key``."""
    systems = sorted({t.system for t in landed_tables()})
    return "(" + " OR ".join(f"({system} = '{s}' AND {key} IN :{s})" for s in systems) + ")"


def _either_side(table: str) -> str:
    """The pairs of ``table`` that have one of the person's records on either side."""
    return (
        f"(left_id, right_id) IN (SELECT left_id, right_id FROM {HUB_SCHEMA}.{table} WHERE left_id IN :unique_ids "
        f"UNION ALL SELECT left_id, right_id FROM {HUB_SCHEMA}.{table} WHERE right_id IN :unique_ids)"
    )


def landed_holdings() -> tuple[Holding, ...]:
    """The landing tables that hold personal data, from their descriptions (``quality.tables``)."""
    return tuple(
        Holding(LANDING_SCHEMA, t.name, *astuple(t.processing), person_condition(t), t.erasure)
        for t in landed_tables()
        if t.processing is not None
    )


def holdings() -> tuple[Holding, ...]:
    """Every table holding personal data: the described landing tables, then the hub's own."""
    return (*landed_holdings(), *HUB_HOLDINGS)


# The hub's own tables (and the landing area's quarantine), which no system describes.
_SEGMENTS = ("segments", "profiling (Art. 6(1)(f); consent where a purpose needs it)", "until the next run", "the hub")
HUB_HOLDINGS: tuple[Holding, ...] = (
    Holding(
        HUB_SCHEMA,
        "customer_metrics",
        "purchase metrics, scores and segments of the customer",
        *_SEGMENTS,
        "marketing; analysts; the tools the audiences are published to",
        "customer_id IN :customers",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "customer_metrics_previous",
        "the customer's metrics as of the run before",
        *_SEGMENTS,
        "analysts (the lifecycle flow between runs)",
        "customer_id IN :customers",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "segment_membership",
        "the segments the customer is or was in, with when they entered and left",
        *_SEGMENTS,
        "marketing; analysts",
        "customer_id IN :customers",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "audience_membership",
        "the audiences the customer is or was in, with when they entered and left",
        *_SEGMENTS,
        "marketing; the tools that read audiences through the API",
        "customer_id IN :customers",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "audience_decision",
        "whether the customer may be contacted in each audience, and why not",
        *_SEGMENTS,
        "marketing",
        "customer_id IN :customers",
        "delete",
    ),
    Holding(
        LANDING_SCHEMA,
        "quarantine",
        "rows that failed their checks, as read",
        "data quality",
        "legitimate interest (Art. 6(1)(f))",
        "until a steward resolves them",
        "every system",
        "pipeline; dpo",
        "",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "source_record",
        "standardised identities",
        _OPERATIONS,
        _CONTRACT,
        _MIRROR,
        "every system",
        _HUB,
        "unique_id IN :unique_ids",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "blocking_key",
        "keyed hashes of the keys the matcher groups the person's records by",
        "record linkage",
        "legitimate interest (Art. 6(1)(f))",
        _MIRROR,
        "the hub",
        "pipeline",
        "unique_id IN :unique_ids",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "match_pair",
        "match scores between the person's records",
        "record linkage",
        "legitimate interest (Art. 6(1)(f))",
        _MIRROR,
        "the hub",
        "pipeline; customer service (review)",
        _either_side("match_pair"),
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "match_override",
        "stewards' decisions about the person's records",
        "record linkage",
        "legitimate interest (Art. 6(1)(f))",
        _MIRROR,
        "data stewards",
        "pipeline",
        _either_side("match_override"),
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "customer_xref",
        "which records are the same person",
        _OPERATIONS,
        _CONTRACT,
        _MIRROR,
        "the hub",
        _HUB,
        _records_in("source_system", "source_key"),
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "customer_id_history",
        "the customer ID's merges and splits",
        _OPERATIONS,
        _CONTRACT,
        _MIRROR,
        "the hub",
        _HUB,
        "customer_id IN :customers OR related_id IN :customers",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "golden_customer",
        "the golden customer record",
        _OPERATIONS,
        _CONTRACT,
        _MIRROR,
        "the hub",
        _HUB,
        "customer_id IN :customers",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "golden_lineage",
        "where each golden value came from",
        _OPERATIONS,
        _CONTRACT,
        _MIRROR,
        "the hub",
        _HUB,
        "customer_id IN :customers",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "consent_event",
        "consent events with their evidence",
        "proof of consent",
        "legal obligation (Art. 7(1))",
        "while the consent is relied on, and 3 years after",
        "every system; requests",
        "marketing (state only); customer service; dpo",
        _records_in("source_system", "source_key") + " OR (source_system = 'dsr' AND source_key IN :customers)",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "consent_state",
        "current consent per purpose",
        "honouring consent",
        "legal obligation (Art. 7)",
        _MIRROR,
        "the hub",
        "marketing; customer service; analysts",
        "customer_id IN :customers",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "subject_flag",
        "restriction or objection in force",
        "honouring requests",
        "legal obligation (Art. 18, 21)",
        "while in force",
        "requests",
        "every role (as a filter)",
        "customer_id IN :customers",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "rectification",
        "corrections the person asked for",
        "accuracy",
        "legal obligation (Art. 16)",
        _MIRROR,
        "requests",
        _HUB,
        "customer_id IN :customers",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "dsr_request",
        "the person's requests",
        "answering requests",
        "legal obligation (Art. 12)",
        "3 years after completion; identifiers removed on erasure",
        "requests",
        "dpo; customer service",
        "customer_id IN :customers OR subject_ref IN :refs",
        "pseudonymise",
    ),
    Holding(
        HUB_SCHEMA,
        "dsr_event",
        "the steps of the person's requests, with staff's notes on verification and extensions",
        "answering requests",
        "legal obligation (Art. 12)",
        "3 years after completion",
        "requests",
        "dpo; customer service",
        "request_id IN :requests",
        "keep",
    ),
    Holding(
        HUB_SCHEMA,
        "dsr_notification",
        "what the tools were told on the person's behalf, with receipts",
        "answering requests",
        "legal obligation (Art. 17(2), 19)",
        "3 years after completion",
        "the hub",
        "dpo",
        "request_id IN :requests",
        "keep",
    ),
    Holding(
        HUB_SCHEMA,
        "audit_log",
        "who read or changed the person's data, by pseudonym",
        "accountability",
        "legal obligation (Art. 5(2), 30)",
        "3 years",
        "the hub",
        "dpo",
        "subject_ref IN :refs",
        "keep",
    ),
    Holding(
        HUB_SCHEMA,
        "publish_state",
        "the audiences each tool was last sent the person in, by the tool's key (ad lists: hashed contacts)",
        "publishing segments to the retailer's tools",
        "legitimate interest (Art. 6(1)(f)); consent (Art. 6(1)(a)) for ad targeting",
        "while the tool holds the membership; removed on erasure",
        "the hub",
        "email platform, webshop, loyalty vendor, ad platforms; pipeline; dpo",
        _records_in("tool", "target") + " OR (tool = 'ads' AND target IN :customers)",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "publish_outbox",
        "the latest publishing run's plan for the person, with each tool's answer",
        "publishing segments to the retailer's tools",
        "legitimate interest (Art. 6(1)(f)); consent (Art. 6(1)(a)) for ad targeting",
        "until the next publishing run",
        "the hub",
        "pipeline; dpo",
        _records_in("tool", "target") + " OR (tool = 'ads' AND target IN :customers)",
        "delete",
    ),
    Holding(
        HUB_SCHEMA,
        "sync_log",
        "what each tool was sent about the person and when, by pseudonym",
        "accountability for publishing",
        "legal obligation (Art. 5(2))",
        "3 years",
        "the hub",
        "pipeline; dpo",
        "target_ref IN :refs",
        "keep",
    ),
)

# The hub's tables with nothing about any one person: match model parameters, load accounting, dlt's
# bookkeeping, API clients, keyed hashes of the erased, the highest customer ID issued.
_HUB_FREE_OF_PERSONAL_DATA = frozenset(
    {
        f"{HUB_SCHEMA}.match_model",
        f"{HUB_SCHEMA}.match_settings",
        f"{HUB_SCHEMA}.segment_size",
        f"{HUB_SCHEMA}.api_client",
        f"{HUB_SCHEMA}.landing_erasure",
        f"{HUB_SCHEMA}.customer_id_high_water",
        f"{HUB_SCHEMA}.landing_progress",
        f"{HUB_SCHEMA}.step_progress",
        f"{HUB_SCHEMA}.suppression",
        f"{HUB_SCHEMA}.alembic_version",
        f"{HUB_SCHEMA}.publish_run",
        f"{HUB_SCHEMA}.publish_destination",
        f"{HUB_SCHEMA}.publish_file",
        f"{LANDING_SCHEMA}.load_ledger",
        f"{LANDING_SCHEMA}._dlt_loads",
        f"{LANDING_SCHEMA}._dlt_pipeline_state",
        f"{LANDING_SCHEMA}._dlt_version",
    }
)


def free_of_personal_data() -> frozenset[str]:
    """Tables declared to hold nothing about any one person (described landing tables without processing,
    such as campaigns, and the hub's bookkeeping)."""
    about_no_one = {f"{LANDING_SCHEMA}.{t.name}" for t in landed_tables() if t.processing is None}
    return _HUB_FREE_OF_PERSONAL_DATA | about_no_one


def holding(name: str) -> Holding:
    return next(h for h in holdings() if h.name == name)
