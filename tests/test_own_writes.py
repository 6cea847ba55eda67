"""The hub's own writes to a tool come back in the next landing, and are no news of the person.

Setting a tag on an email-platform member moves the member's ``last_changed``, the contract's one time of a
member, so the next run lands the member again with nothing changed but that time. The ledger must not
read it as a consent decision taken again at the time of the hub's write (it would outrank a newer
withdrawal in another system and grant again what the person withdrew), and survivorship must not take the
member's values as the newest.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from conftest import run_assets

from exports.publishing.esp_tags import TagWrite, send_tags
from exports.publishing.transport import SENT
from hub import storage

PERMISSION_GRANTS = (
    "SELECT e.source_key, x.customer_id, e.purpose, e.occurred_at FROM mdm.consent_event e "
    "JOIN mdm.customer_xref x ON x.source_system = e.source_system AND x.source_key = e.source_key "
    "WHERE e.source_system = 'esp' AND e.action = 'grant' AND e.evidence LIKE 'marketing permission%'"
)
DECISIONS = (
    "SELECT s.customer_id, s.purpose, s.granted, e.source_system, e.occurred_at FROM mdm.consent_state s "
    "JOIN mdm.consent_event e ON e.event_id = s.event_id"
)


def _member_to_touch(connection: sa.Connection) -> tuple[str, str, str]:
    """(member id, customer, purpose): a member whose permission grant a newer withdrawal elsewhere overrides,
    when the world has one (the case a re-dated grant would turn), else any member with a permission grant."""
    grants = storage.read_frame(connection, PERMISSION_GRANTS)
    decisions = storage.read_frame(connection, DECISIONS)
    both = grants.merge(decisions, on=["customer_id", "purpose"], suffixes=("", "_decided"))
    overridden = both[~both["granted"] & (both["source_system"] != "esp")]
    chosen = (overridden if len(overridden) else both).sort_values(["customer_id", "purpose"]).iloc[0]
    return str(chosen["source_key"]), str(chosen["customer_id"]), str(chosen["purpose"])


def _snapshot(connection: sa.Connection, member: str, customer: str) -> dict:
    record = connection.execute(
        sa.text("SELECT updated_at, raw_fingerprint FROM mdm.source_record WHERE unique_id = :u"),
        {"u": f"esp:{member}"},
    ).one()
    return {
        "events": connection.execute(
            sa.text("SELECT count(*) FROM mdm.consent_event WHERE source_system = 'esp' AND source_key = :k"),
            {"k": member},
        ).scalar(),
        "record": tuple(record),
        "decisions": storage.read_frame(
            connection,
            "SELECT purpose, granted, event_id FROM mdm.consent_state WHERE customer_id = :c ORDER BY purpose",
            c=customer,
        ).to_dict("records"),
        "landed_at": connection.execute(
            sa.text("SELECT CAST(last_changed AS VARCHAR) FROM landing.esp_member WHERE id = :k"), {"k": member}
        ).scalar(),
    }


def test_a_tag_the_hub_set_is_no_consent_decision_and_no_newer_record(piped_settings):
    url = piped_settings.database_url
    with storage.engine(url).connect() as connection:
        member, customer, purpose = _member_to_touch(connection)
        before = _snapshot(connection, member, customer)

    answers: list = []
    settings = piped_settings
    write = TagWrite(member, (("hub-test", True),))
    send_tags(settings.esp_url, settings.esp_key, settings.esp_list_id, [write], answers.extend)
    assert [a.status for _, a in answers] == [SENT]

    outcome = run_assets(settings, "landing", "golden", "consent")  # lands the touched member; nothing published
    assert outcome.ok, outcome.errors
    with storage.engine(url).connect() as connection:
        after = _snapshot(connection, member, customer)

    assert after["landed_at"] != before["landed_at"], "the member was landed again, with its new last_changed"
    assert after["events"] == before["events"], "the hub's own write is no consent event"
    assert after["record"] == before["record"], "nor a newer version of the member's record"
    assert after["decisions"] == before["decisions"], f"{purpose} and every other decision stand"
    assert pd.Timestamp(before["landed_at"]) < pd.Timestamp(after["landed_at"])
