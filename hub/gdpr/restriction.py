"""Restriction (Art. 18) and objection (Art. 21): processing stops but storage, at once.

A flag on the customer hides them from every role that must not process them (the access views
filter on ``subject_flag``), and their consent state turns to refused for every purpose right away,
so marketing and segments leave them out before the next pipeline run. An objection is also a
consent event, absolute for direct marketing and profiling whatever the systems say later.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa

from hub.gdpr.locate import Person
from hub.storage import HUB_SCHEMA
from transforms.consent import OBJECTION, PURPOSES
from transforms.consent.state import RULE_OBJECTION, RULE_RESTRICTED

S = HUB_SCHEMA
FLAGS = {"restriction": "restricted", "objection": "objected"}
RULES = {"restriction": RULE_RESTRICTED, "objection": RULE_OBJECTION}


def apply(connection: sa.Connection, person: Person, kind: str, request_id: str) -> None:
    """Flag the person's customers and refuse every purpose now; an objection is also recorded as evidence."""
    now = datetime.now(UTC)
    flag = FLAGS[kind]
    for customer in person.customer_ids:
        connection.execute(
            sa.text(f"DELETE FROM {S}.subject_flag WHERE customer_id = :c AND flag = :f"), {"c": customer, "f": flag}
        )
        connection.execute(
            sa.text(f"INSERT INTO {S}.subject_flag (customer_id, flag, request_id, since) VALUES (:c, :f, :r, :t)"),
            {"c": customer, "f": flag, "r": request_id, "t": now},
        )
        for purpose in PURPOSES:
            event_id = None
            if kind == "objection":
                event_id = hashlib.sha256(f"dsr|{customer}|{purpose}|objection|{request_id}".encode()).hexdigest()
                connection.execute(
                    sa.text(
                        f"INSERT INTO {S}.consent_event (event_id, source_system, source_key, purpose, action, "
                        "occurred_at, evidence, ip, request_id, recorded_at) VALUES (:e, 'dsr', :c, :p, :action, "
                        ":t, :ev, NULL, :r, :t)"
                    ),
                    {
                        "e": event_id,
                        "c": customer,
                        "p": purpose,
                        "action": OBJECTION,
                        "t": now,
                        "ev": RULES[kind],
                        "r": request_id,
                    },
                )
            connection.execute(
                sa.text(f"DELETE FROM {S}.consent_state WHERE customer_id = :c AND purpose = :p"),
                {"c": customer, "p": purpose},
            )
            connection.execute(
                sa.text(
                    f"INSERT INTO {S}.consent_state (customer_id, purpose, granted, basis, rule, event_id, updated_at) "
                    "VALUES (:c, :p, false, :b, :rule, :e, :t)"
                ),
                {"c": customer, "p": purpose, "b": kind, "rule": RULES[kind], "e": event_id, "t": now},
            )
