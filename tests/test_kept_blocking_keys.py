"""Blocking keys kept between runs (``mdm.blocking_key``): the same keys as made from scratch, made again for
what changed, and gone with an erased person's records. (That they are hashes, never a name, email or phone
in clear, is the schema's: ``tests/test_schema.py`` checks the database against it.)"""

from __future__ import annotations

import pandas as pd
from test_gdpr import carry_out, customer_in_all_four_systems

from hub import golden_store as store
from hub import storage
from hub.golden import kept_blocking_keys
from hub.resources import HubDatabase
from transforms.matching.blocking import blocking_keys, blocking_salt, hashed_keys
from transforms.matching.email_names import borrows_names


def _database(settings) -> HubDatabase:
    return HubDatabase(
        url=settings.database_url, state_dir=str(settings.state_dir), pseudonym_key=settings.pseudonym_key
    )


def _records(database: HubDatabase) -> pd.DataFrame:
    with database.engine().connect() as connection:
        return store.load_records(connection, store.MATCHING_COLUMNS)


def _from_scratch(records: pd.DataFrame, database: HubDatabase) -> pd.DataFrame:
    return hashed_keys(blocking_keys(records), blocking_salt(database.key()))


def _kept(database: HubDatabase) -> pd.DataFrame:
    with database.engine().connect() as connection:
        return store.load_blocking_keys(connection)


def test_kept_keys_are_the_keys_made_from_scratch_and_follow_a_change(piped_settings):
    database = _database(piped_settings)
    records = _records(database)
    kept = _kept(database)
    own = ~borrows_names(records).to_numpy()
    assert set(kept.index) == set(records["unique_id"][own]), "the pipeline kept every record's own keys"
    pd.testing.assert_frame_equal(kept_blocking_keys(records, database), _from_scratch(records, database))

    # One record's email changes (and with it its fingerprint); another record is gone.
    changed, gone = records.index[own][0], records.index[own][1]
    moved = records.drop(index=gone).reset_index(drop=True)
    at = moved.index[moved["unique_id"] == records.at[changed, "unique_id"]][0]
    moved.loc[at, ["email", "email_local"]] = ["someone.else@example.org", "someone.else"]
    moved.loc[at, "fingerprint"] = "changed"
    keys = kept_blocking_keys(moved, database)
    assert keys.equals(_from_scratch(moved, database))
    after = _kept(database)
    assert records.at[gone, "unique_id"] not in after.index
    assert after.loc[records.at[changed, "unique_id"], "email"] != kept.loc[records.at[changed, "unique_id"], "email"]
    untouched = after.index.intersection(kept.index).drop(records.at[changed, "unique_id"])
    assert after.loc[untouched].equals(kept.loc[untouched])


def test_an_erasure_takes_the_persons_kept_keys_with_it(piped_settings):
    database = _database(piped_settings)
    customer = customer_in_all_four_systems(piped_settings)
    with database.engine().connect() as connection:
        records = storage.read_frame(
            connection,
            "SELECT r.unique_id FROM mdm.source_record r JOIN mdm.customer_xref x ON x.source_system = r.source_system "
            "AND x.source_key = r.source_key WHERE x.customer_id = :c",
            c=customer,
        )["unique_id"]
    before = _kept(database)
    assert set(records) & set(before.index)
    assert carry_out(piped_settings, "erasure", "customer", customer).status == "completed"
    after = _kept(database)
    assert not set(records) & set(after.index)
    assert len(after) == len(before) - len(set(records) & set(before.index)), "nobody else's keys went"
