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
from hub.schema import consent_event, consent_state, subject_flag
from hub.storage import replace_row
from transforms.consent import OBJECTION, PURPOSES
from transforms.consent.state import RULE_OBJECTION, RULE_RESTRICTED

FLAGS = {"restriction": "restricted", "objection": "objected"}
RULES = {"restriction": RULE_RESTRICTED, "objection": RULE_OBJECTION}


def apply(connection: sa.Connection, person: Person, kind: str, request_id: str) -> None:
    """Flag the person's customers and refuse every purpose now; an objection is also recorded as evidence."""
    now = datetime.now(UTC)
    flag = FLAGS[kind]
    for customer in person.customer_ids:
        replace_row(
            connection,
            subject_flag,
            {"customer_id": customer, "flag": flag},
            {"request_id": request_id, "since": now},
        )
        for purpose in PURPOSES:
            event_id = None
            if kind == "objection":
                event_id = hashlib.sha256(f"dsr|{customer}|{purpose}|objection|{request_id}".encode()).hexdigest()
                connection.execute(
                    sa.insert(consent_event).values(
                        event_id=event_id,
                        source_system="dsr",
                        source_key=customer,
                        purpose=purpose,
                        action=OBJECTION,
                        occurred_at=now,
                        evidence=RULES[kind],
                        ip=None,
                        request_id=request_id,
                        recorded_at=now,
                    )
                )
            replace_row(
                connection,
                consent_state,
                {"customer_id": customer, "purpose": purpose},
                {"granted": False, "basis": kind, "rule": RULES[kind], "event_id": event_id, "updated_at": now},
            )
