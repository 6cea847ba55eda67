"""The audit log's head is kept outside the database, signed: a log rewritten with every hash recomputed, or
cut short, no longer fits it, and an anchor cannot be forged without the hub's key."""

from __future__ import annotations

import json
from datetime import UTC

import sqlalchemy as sa

from hub import audit, storage
from hub.access.acting import Actor
from hub.gdpr import service

DPO = Actor("test-dpo", "dpo")


def access_request(settings) -> None:
    with storage.engine(settings.database_url).connect() as connection:
        customer = connection.execute(sa.text("SELECT min(customer_id) FROM mdm.golden_customer")).scalar()
    service.handle(settings, DPO, "access", ("customer", customer), "test: identity document checked")


def rewrite(settings, change: str) -> None:
    """What someone who may write the table can do: change an entry, then recompute every hash after it."""
    with storage.engine(settings.database_url).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))  # past the triggers
        connection.execute(sa.text(change))
        rows = connection.execute(sa.text(f"SELECT * FROM {audit.TABLE} ORDER BY seq")).mappings().all()
        previous = audit.GENESIS
        for row in rows:
            fields = {k: row[k] for k in ("actor", "role", "action", "subject_ref", "purpose", "detail")}
            moment = row["recorded_at"] if row["recorded_at"].tzinfo else row["recorded_at"].replace(tzinfo=UTC)
            entry = audit._hash(previous, audit._canonical(row["seq"], moment, fields))
            connection.execute(
                sa.text(f"UPDATE {audit.TABLE} SET prev_hash = :p, entry_hash = :h WHERE seq = :s"),
                {"p": previous, "h": entry, "s": row["seq"]},
            )
            previous = entry


def test_a_request_moves_the_signed_anchor_and_the_log_verifies_against_it(piped_settings):
    access_request(piped_settings)
    result, anchored = audit.verify_anchored(piped_settings)
    assert result.ok and anchored is not None
    assert anchored.seq == result.entries >= 3 and anchored.head == result.head
    access_request(piped_settings)
    again, moved = audit.verify_anchored(piped_settings)
    assert again.ok and moved.seq == again.entries > anchored.seq


def test_a_rewritten_log_with_recomputed_hashes_no_longer_fits_the_anchor(piped_settings):
    access_request(piped_settings)
    rewrite(piped_settings, f"UPDATE {audit.TABLE} SET actor = 'someone else' WHERE seq = 2")
    with storage.engine(piped_settings.database_url).connect() as connection:
        assert audit.verify(connection).ok, "the chain alone cannot tell"
    result, anchored = audit.verify_anchored(piped_settings)
    assert not result.ok and result.broken_at == anchored.seq
    assert result.problem == "the anchored entry was rewritten"
    assert not audit.keep_anchored(piped_settings).ok, "the anchor does not move onto a rewritten log"


def test_a_log_cut_short_and_a_forged_anchor_are_found(piped_settings):
    access_request(piped_settings)
    _, anchored = audit.verify_anchored(piped_settings)
    location = audit.anchor_location(piped_settings)
    with open(location) as handle:
        held = json.load(handle)
    with open(location, "w") as handle:
        json.dump({**held, "seq": held["seq"] - 1}, handle)
    forged, _ = audit.verify_anchored(piped_settings)
    assert not forged.ok and forged.problem == "the anchor's signature is not the hub's"
    with open(location, "w") as handle:
        json.dump(held, handle)
    rewrite(piped_settings, f"DELETE FROM {audit.TABLE} WHERE seq = {anchored.seq}")
    cut, _ = audit.verify_anchored(piped_settings)
    assert not cut.ok and cut.problem == "the log ends before the anchored entry"
