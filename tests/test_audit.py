"""The audit log's head is kept outside the database, signed: a log rewritten with every hash recomputed, or
cut short, no longer fits it, and an anchor cannot be forged without the hub's key."""

from __future__ import annotations

import json
import threading
from datetime import UTC

import pytest
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


def test_concurrent_readers_entries_are_committed_in_groups_on_one_intact_chain(database_url):
    """The API's group commit: many threads record at once, each gets its own sequence numbers back only after
    the commit, in the order it gave its entries, and the chain verifies; once closed it refuses."""
    storage.migrate(database_url)
    engine = storage.serving_engine(database_url, 1)
    moved = []
    recorder = audit.Recorder(engine, lambda: moved.append(True))
    given: dict[int, list[int]] = {}

    def reader(number: int) -> None:
        for _ in range(5):
            entries = [
                audit.Entry(f"test-{number}", "dpo", "read", purpose="audit", detail={"rows": i}) for i in (1, 2)
            ]
            seqs = recorder.record(entries)
            assert len(seqs) == 2 and seqs[1] > seqs[0]
            given.setdefault(number, []).extend(seqs)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.close()
    with pytest.raises(audit.AuditUnavailable):
        recorder.record([audit.Entry("test-late", "dpo", "read")])

    seqs = sorted(s for numbers in given.values() for s in numbers)
    assert seqs == list(range(1, 201)), "every entry once, no gaps"
    assert moved, "the anchor is moved after a commit"
    with engine.connect() as connection:
        assert audit.verify(connection).ok
        actors = dict(connection.execute(sa.text(f"SELECT seq, actor FROM {audit.TABLE}")).all())
    assert all(actors[s] == f"test-{n}" for n, numbers in given.items() for s in numbers)
    engine.dispose()


def test_a_read_whose_entry_cannot_be_committed_is_refused(tmp_path):
    """No table to write to: the waiting caller gets AuditUnavailable (never a silent success), and the writer
    goes on serving the next batch."""
    engine = storage.serving_engine(f"duckdb:///{tmp_path / 'empty.duckdb'}", 1)
    recorder = audit.Recorder(engine, lambda: None)
    for _ in range(2):
        with pytest.raises(audit.AuditUnavailable):
            recorder.record([audit.Entry("test", "dpo", "read")])
    recorder.close()
    engine.dispose()
