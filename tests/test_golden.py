"""Golden customers end to end: matching quality, stable IDs, incremental runs, stewards' decisions.

Each test starts from the prepared hub (``piped_settings``: one pipeline run over the pristine systems). Its
further runs land and match (``run_assets``): consent, segments and publishing come after and change nothing here.

The simulator's truth file is read here only to score the result, never by the pipeline.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from conftest import run_assets
from dagster import materialize
from typer.testing import CliRunner

from hub import golden_store as store
from hub import storage
from hub.bench.scoring import pairwise_scores, read_truth
from hub.cli import app
from hub.golden import source_records
from hub.landed import forget_progress, read_identities
from hub.resources import database_resource
from hub.review import decide, review_queue, unmerge
from hub.simulator import advance
from transforms.source_records import standardise

FULL_REBUILD = {"ops": {"golden__match_pairs": {"config": {"full_rebuild": True}}}}


def xref(url: str) -> pd.Series:
    with storage.engine(url).connect() as connection:
        return store.load_xref(connection).sort_index()


def scalar(url: str, sql: str, **params):
    with storage.engine(url).connect() as connection:
        return connection.execute(sa.text(sql), params).scalar()


def golden_rows(url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Golden customers (with when each last changed) and their lineage, in key order."""
    with storage.engine(url).connect() as connection:
        golden = pd.read_sql(sa.text("SELECT * FROM mdm.golden_customer ORDER BY customer_id"), connection)
        lineage = pd.read_sql(sa.text("SELECT * FROM mdm.golden_lineage ORDER BY customer_id, attribute"), connection)
    return golden.drop(columns="sources_digest"), lineage


def stored_records(url: str) -> pd.DataFrame:
    with storage.engine(url).connect() as connection:
        return store.load_records(connection).drop(columns=["matched_fingerprint", "clustered_fingerprint"])


def standardised_from_scratch(url: str) -> pd.DataFrame:
    """Every landed identity standardised again, as the stored records would be after a first run."""
    with storage.engine(url).connect() as connection:
        records = standardise(read_identities(connection))
    records["fingerprint"] = store.fingerprints(records).to_numpy()
    fresh = records[[*store.RECORD_COLUMNS, "fingerprint"]]
    return fresh.astype({c: object for c in fresh.columns if c not in ("birth_date", "updated_at")})


def test_every_source_record_belongs_to_one_golden_customer_and_matches_the_truth(piped_settings, systems_dir):
    url = piped_settings.database_url
    records = scalar(url, "SELECT count(*) FROM mdm.source_record")
    links = xref(url)
    assert len(links) == records > 0
    assert scalar(url, "SELECT count(*) FROM mdm.golden_customer") == links.nunique()
    for attribute in ("first_name", "last_name", "email", "phone", "street"):
        with_value = scalar(url, f"SELECT count(*) FROM mdm.golden_customer WHERE {attribute} IS NOT NULL")
        lineage = scalar(url, "SELECT count(*) FROM mdm.golden_lineage WHERE attribute = :a", a=attribute)
        assert lineage == with_value > 0, attribute
    scores = pairwise_scores(links, read_truth(systems_dir))
    assert scores.precision >= 0.95 and scores.recall >= 0.8, scores


def _records_run(settings) -> dict:
    """Materialise the source records alone; what the step says it read and did."""
    result = materialize([source_records], resources={"database": database_resource(settings)})
    assert result.success
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_source_records_read_only_rows_landed_since_and_agree_with_a_full_read(piped_settings):
    url = piped_settings.database_url
    total = scalar(url, "SELECT count(*) FROM mdm.source_record")
    first = _records_run(piped_settings)
    assert (first["landed_rows_read"], first["standardised"], first["records"]) == (0, 0, total)

    # A later load changes one ERP customer's email and another customer's row goes: one row is read and
    # standardised, the other record is forgotten.
    with storage.engine(url).connect() as connection:
        sql = "SELECT customer_no FROM landing.erp_customer ORDER BY customer_no LIMIT 2"
        changed, dropped = (str(key) for key in connection.execute(sa.text(sql)).scalars())
    with storage.engine(url).begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE landing.erp_customer SET email = 'Moved.Elsewhere@Example.com', "
                "_dlt_load_id = '9999999999.0' WHERE customer_no = :c"
            ),
            {"c": changed},
        )
        connection.execute(sa.text("DELETE FROM landing.erp_customer WHERE customer_no = :c"), {"c": dropped})
    later = _records_run(piped_settings)
    assert (later["landed_rows_read"], later["standardised"], later["forgotten"]) == (1, 1, 1)
    stored = stored_records(url).set_index("unique_id")
    assert stored.loc[f"erp:{changed}", "email"] == "moved.elsewhere@example.com"
    assert f"erp:{dropped}" not in stored.index and len(stored) == total - 1

    # A row changed in place under its old load is seen once its table's progress is forgotten (an erasure
    # does that when it blanks a contact someone else shared with the person).
    in_place = "UPDATE landing.erp_customer SET first_name = 'Inplace' WHERE customer_no = :c"
    with storage.engine(url).begin() as connection:
        connection.execute(sa.text(in_place), {"c": changed})
        forget_progress(connection, store.RECORDS_STEP, ["erp_customer"])
    whole = _records_run(piped_settings)
    assert whole["standardised"] == 1 and whole["landed_rows_read"] == whole["records_read_erp"] > 1
    assert stored_records(url).set_index("unique_id").loc[f"erp:{changed}", "first_name"].lower() == "inplace"

    # Records lost from the hub (restored from an older backup, say) are read again although no load is newer.
    erp = scalar(url, "SELECT count(*) FROM mdm.source_record WHERE source_system = 'erp'")
    with storage.engine(url).begin() as connection:
        connection.execute(sa.text("DELETE FROM mdm.source_record WHERE source_system = 'erp'"))
    assert _records_run(piped_settings)["standardised"] == erp > 0

    # Whatever the path, the stored records are what standardising every landed row from scratch gives.
    stored, fresh = stored_records(url), standardised_from_scratch(url)
    pd.testing.assert_frame_equal(stored, fresh.astype({"updated_at": stored["updated_at"].dtype}))


def test_ids_survive_a_second_run_and_a_full_rebuild(piped_settings):
    settings = piped_settings
    first = xref(settings.database_url)
    second = run_assets(settings, "landing", "golden")  # the systems read again: they hold nothing new
    assert second.ok and second.materializations["golden/source_records"]["standardised"] == 0
    assert second.materializations["golden/golden_customer"]["customers_survived"] == 0
    assert second.materializations["golden/customer_xref"]["records_clustered"] == 0
    assert xref(settings.database_url).equals(first)
    with storage.engine(settings.database_url).begin() as connection:  # as if matching's code had changed
        connection.execute(
            sa.text("UPDATE mdm.step_progress SET code_digest = 'older' WHERE step IN ('match_pairs', 'customer_xref')")
        )
    upgraded = run_assets(settings, "golden")
    assert upgraded.ok and upgraded.materializations["golden/customer_xref"]["records_clustered"] == len(first)
    matched = upgraded.materializations["golden/match_pairs"]
    assert matched["mode"] == "full" and matched["model_refitted"], "every pair judged again by the new code"
    assert xref(settings.database_url).equals(first)
    again = run_assets(settings, "golden")  # the new code's digest is kept: the next run is incremental again
    assert again.ok and again.materializations["golden/match_pairs"]["mode"] == "incremental"
    rebuilt = run_assets(settings, "golden", run_config=FULL_REBUILD)
    assert rebuilt.ok and rebuilt.materializations["golden/match_pairs"]["mode"] == "full"
    assert xref(settings.database_url).equals(first)


def test_incremental_matching_compares_only_changed_records_and_agrees_with_a_full_rebuild(piped_settings, systems_dir):
    settings = piped_settings
    advance(systems_dir, days=7)
    incremental = run_assets(settings, "landing", "golden")
    assert incremental.ok
    stage = incremental.materializations["golden/match_pairs"]
    assert stage["mode"] == "incremental"
    total = scalar(settings.database_url, "SELECT count(*) FROM mdm.source_record")
    assert 0 < stage["records_compared"] < total / 4
    standardised = incremental.materializations["golden/source_records"]["standardised"]
    assert 0 < standardised < total / 4
    stored, fresh = stored_records(settings.database_url), standardised_from_scratch(settings.database_url)
    fresh = fresh.astype({"updated_at": stored["updated_at"].dtype})
    pd.testing.assert_frame_equal(stored.drop(columns="updated_at"), fresh.drop(columns="updated_at"))
    # A record keeps the time its content last changed; its system's time moves with any touch of the row.
    kept, latest = stored["updated_at"], fresh["updated_at"]
    assert ((kept <= latest) | (kept.isna() & latest.isna())).all()
    survived = incremental.materializations["golden/golden_customer"]["customers_survived"]
    assert 0 < survived < scalar(settings.database_url, "SELECT count(*) FROM mdm.golden_customer") / 4
    assert 0 < incremental.materializations["golden/customer_xref"]["records_clustered"] < total / 4
    after_incremental, golden = xref(settings.database_url), golden_rows(settings.database_url)

    with storage.engine(settings.database_url).begin() as connection:  # as after an upgrade: survive everyone
        connection.execute(sa.text("UPDATE mdm.golden_customer SET sources_digest = NULL"))
    rebuilt = run_assets(settings, "golden", run_config=FULL_REBUILD)
    assert rebuilt.ok and rebuilt.materializations["golden/golden_customer"]["customers_survived"] == len(golden[0])
    assert rebuilt.materializations["golden/customer_xref"]["records_clustered"] == total  # a rebuild clusters all
    assert xref(settings.database_url).equals(after_incremental)
    again = golden_rows(settings.database_url)
    assert again[0].equals(golden[0]) and again[1].equals(golden[1])


def test_a_stewards_accept_merges_two_customers_and_an_unmerge_splits_them_again(piped_settings):
    settings = piped_settings
    url = settings.database_url
    engine = storage.engine(url)
    links = xref(url)
    # Two records each alone in its customer: the accept joins the two customers whole (with more records, the
    # rest of a customer follows only if nothing of it conflicts with the other's), and after the unmerge the
    # tie between the two parts goes to the part with the first record key, ``left``.
    sizes = links.map(links.value_counts())
    asked = (sorted([item.left_id, item.right_id]) for item in review_queue(engine, 1000))
    single = [(a, b) for a, b in asked if sizes[a] == sizes[b] == 1]
    left, right = single[0] if single else tuple(sorted(sizes[sizes == 1].index[:2]))
    older, newer = sorted([links[left], links[right]], key=store.id_number)
    with engine.begin() as connection:
        decide(connection, left, right, accept=True, steward="tester", reason="same person, checked by phone")
    assert run_assets(settings, "golden").ok
    merged = xref(url)
    assert merged[left] == merged[right] == older
    assert (
        scalar(
            url,
            "SELECT count(*) FROM mdm.customer_id_history WHERE customer_id = :n AND "
            "event = 'merged_into' AND related_id = :o",
            n=newer,
            o=older,
        )
        == 1
    )

    with engine.begin() as connection:
        unmerge(connection, older, right, steward="tester", reason="was wrong")
    assert run_assets(settings, "golden").ok
    split = xref(url)
    assert split[right] != older and (split == older).any(), "the larger part keeps the ID"
    assert (
        scalar(
            url,
            "SELECT count(*) FROM mdm.customer_id_history WHERE customer_id = :n AND "
            "event = 'split_from' AND related_id = :o",
            n=split[right],
            o=older,
        )
        == 1
    )

    shown = CliRunner().invoke(app, ["customer", "show", newer], env={"HUB_DATABASE_URL": url})
    assert shown.exit_code == 0, shown.output
    assert f"merged into {older}" in shown.output.replace("\n", " ")
    assert "Source records" in shown.output and "ID history" in shown.output
