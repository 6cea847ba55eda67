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
from hub.storage import HUB_SCHEMA, replace_row
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
        replace_row(
            connection,
            f"{S}.subject_flag",
            {"customer_id": customer, "flag": flag},
            {"request_id": request_id, "since": now},
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
            replace_row(
                connection,
                f"{S}.consent_state",
                {"customer_id": customer, "purpose": purpose},
                {"granted": False, "basis": kind, "rule": RULES[kind], "event_id": event_id, "updated_at": now},
            )
