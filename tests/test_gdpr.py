"""Data-subject requests end to end, on DuckDB and PostgreSQL, against the simulated systems over HTTP.

Every person is picked from the hub's own data; identifiers are compared, never printed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import run_assets
from dagster import materialize
from typer.testing import CliRunner

from hub import audit, storage
from hub.access.acting import Actor
from hub.cli import app
from hub.gdpr import requests as dsr
from hub.gdpr import service
from hub.gdpr.inventory import free_of_personal_data, holdings
from hub.gdpr.requests import RequestError
from hub.golden import source_records
from hub.landed import lookup_expressions
from hub.resources import database_resource
from hub.runner import run_pipeline
from hub.simulator import running_simulator
from quality.tables import landed_tables

DPO = Actor("test-dpo", "dpo")
FOUR = {"erp", "webshop", "loyalty", "esp"}
FULL_RELOAD = {"ops": {f"land_{s}": {"config": {"full_reload": True}} for s in ("erp", "webshop", "loyalty", "esp")}}


def frame(settings, sql: str, **params) -> pd.DataFrame:
    with storage.engine(settings.database_url).connect() as connection:
        return storage.read_frame(connection, sql, **params)


def customer_in_all_four_systems(settings) -> str:
    systems = frame(settings, "SELECT customer_id, source_system FROM mdm.customer_xref")
    counts = systems.groupby("customer_id")["source_system"].nunique()
    return sorted(counts[counts == len(FOUR)].index)[0]


def identifiers_of(settings, customer_id: str) -> set[str]:
    """Every identifier the hub holds for the customer: keys, emails, phones as standardised and as typed."""
    records = frame(
        settings,
        "SELECT r.source_system, r.source_key, r.email, r.phone FROM mdm.source_record r JOIN mdm.customer_xref x "
        "ON r.source_system = x.source_system AND r.source_key = x.source_key WHERE x.customer_id = :c",
        c=customer_id,
    )
    found = {customer_id, *records["email"].dropna(), *records["phone"].dropna()}
    found |= {key for key in records["source_key"] if not key.isdigit() and not key.startswith("order:")}
    by_system = records.groupby("source_system")["source_key"].apply(list).to_dict()
    raw = [
        ("erp_customer", "customer_no", "erp", ("phone",)),
        ("loyalty_member", "jasennumero", "loyalty", ("puhelin",)),
        ("webshop_customer", "CAST(id AS VARCHAR)", "webshop", ("billing__phone",)),
    ]
    for table, key, system, phones in raw:
        keys = by_system.get(system, [])
        if not keys:
            continue
        rows = frame(settings, f"SELECT {', '.join(phones)} FROM landing.{table} WHERE {key} IN ({_quoted(keys)})")
        found |= {value for column in phones for value in rows[column].dropna() if len(value) >= 7}
    return {value for value in found if value}


def _quoted(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def scan(settings, identifiers: set[str]) -> dict[str, int]:
    """How often any identifier occurs in any text of any table (suppression hashes cannot match).

    Every value of a table, as text and lower-cased, one per line: an identifier (which holds no line break)
    occurs in a value exactly where it occurs in that text."""
    hits: dict[str, int] = {}
    lowered = {i.lower() for i in identifiers}
    assert not any("\n" in i for i in lowered)
    with storage.engine(settings.database_url).connect() as connection:
        tables = connection.execute(
            sa.text(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema IN ('landing', 'landing_staging', 'mdm') AND table_type = 'BASE TABLE'"
            )
        ).all()
        for schema, table in tables:
            data = storage.read_frame(connection, f'SELECT * FROM {schema}."{table}"')
            text = "\n".join("\n".join(data[column].astype(str).str.lower()) for column in data.columns)
            count = sum(text.count(i) for i in lowered)
            if count:
                hits[f"{schema}.{table}"] = count
    return hits


def carry_out(settings, kind: str, identifier_kind: str, identifier: str, details: dict | None = None):
    request_id = service.submit(settings, DPO, kind, identifier_kind, identifier, details)
    service.verify(settings, DPO, request_id, "test: identity document checked")
    return service.carry_out(settings, DPO, request_id)


def test_every_table_is_a_holding_or_declared_free_of_personal_data(piped_settings):
    tables = frame(
        piped_settings,
        "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables "
        "WHERE table_schema IN ('landing', 'mdm') AND table_type = 'BASE TABLE'",
    )["name"]
    known = {h.name for h in holdings()} | free_of_personal_data()
    assert set(tables) - known == set()


def test_access_report_lists_every_record_in_all_four_systems(piped_settings):
    customer = customer_in_all_four_systems(piped_settings)
    records = frame(
        piped_settings,
        "SELECT source_system || ':' || source_key AS record FROM mdm.customer_xref WHERE customer_id = :c",
        c=customer,
    )["record"]
    outcome = carry_out(piped_settings, "access", "customer", customer)
    report = outcome.document
    assert outcome.status == "completed"
    assert set(report["systems"]) == FOUR
    assert set(report["source_records"]) == set(records)
    tables = {h["table"]: h for h in report["holdings"]}
    for table in ("landing.erp_customer", "landing.webshop_customer", "landing.loyalty_member", "landing.esp_member"):
        assert tables[table]["rows"], table
        assert tables[table]["purpose"] and tables[table]["retention"] and tables[table]["recipients"]
    for table in ("mdm.golden_customer", "mdm.golden_lineage", "mdm.source_record", "mdm.customer_xref"):
        assert table in tables
    assert len(tables["mdm.source_record"]["rows"]) == len(records)
    json.dumps(report)  # machine-readable as it stands

    # The same person found by email gives the same records.
    email = frame(piped_settings, "SELECT email FROM mdm.golden_customer WHERE customer_id = :c", c=customer)
    by_email = carry_out(piped_settings, "access", "email", email["email"].iloc[0])
    assert set(by_email.document["source_records"]) >= set(records)


def test_portability_gives_what_the_person_provided_per_system(piped_settings):
    customer = customer_in_all_four_systems(piped_settings)
    export = carry_out(piped_settings, "portability", "customer", customer).document
    assert set(export["systems"]) == FOUR
    assert all(not any(k.startswith("_dlt") for k in row) for t in export["systems"]["erp"].values() for row in t)


def test_erasure_leaves_no_identifier_and_a_full_reload_does_not_bring_the_person_back(
    piped_settings, systems_dir: Path, pristine_systems: Path, make_settings
):
    customer = customer_in_all_four_systems(piped_settings)
    identifiers = identifiers_of(piped_settings, customer)
    assert scan(piped_settings, identifiers)  # the scan finds them before
    invoices = int(
        frame(
            piped_settings,
            "SELECT count(*) AS n FROM landing.erp_invoice i JOIN mdm.customer_xref x "
            "ON x.source_system = 'erp' AND x.source_key = i.customer_no WHERE x.customer_id = :c",
            c=customer,
        )["n"].iloc[0]
    )

    outcome = carry_out(piped_settings, "erasure", "customer", customer)
    assert outcome.status == "completed", outcome.summary
    assert outcome.summary["invoices_pseudonymised"] == invoices
    receipts = frame(piped_settings, "SELECT system, status, target FROM mdm.dsr_notification")
    assert set(receipts["system"]) == {"esp", "webshop", "loyalty"}
    assert set(receipts["status"]) <= {"sent", "absent"} and receipts["target"].isna().all()
    assert scan(piped_settings, identifiers) == {}
    pseudonymised = frame(
        piped_settings, "SELECT count(*) AS n FROM landing.erp_invoice WHERE customer_no LIKE 'erased:%'"
    )
    assert int(pseudonymised["n"].iloc[0]) == invoices

    # The tools were told: the email platform and the webshop deleted the person. Put every system back
    # as it was (they all hold the person again) and read everything again from scratch.
    shutil.rmtree(systems_dir)
    shutil.copytree(pristine_systems, systems_dir)
    with running_simulator(systems_dir, strict=True) as sim:
        settings = make_settings(sim, piped_settings.database_url, piped_settings.home)
        outcome = run_pipeline(settings, run_config=FULL_RELOAD)
    assert outcome.ok, outcome.errors + outcome.failed_checks
    assert scan(piped_settings, identifiers) == {}
    held = frame(piped_settings, "SELECT coalesce(sum(rows_suppressed), 0) AS n FROM landing.load_ledger")
    assert int(held["n"].iloc[0]) > 0
    pseudonymised = frame(
        piped_settings, "SELECT count(*) AS n FROM landing.erp_invoice WHERE customer_no LIKE 'erased:%'"
    )
    assert int(pseudonymised["n"].iloc[0]) == invoices


def test_a_shared_email_blanked_by_an_erasure_is_read_again_from_the_sharers_row(piped_settings):
    """Another person's landing row that carries the erased person's email loses that field under the load that
    wrote it; the source records, which read only newer loads, are told to read its table whole again."""
    url = piped_settings.database_url
    person = customer_in_all_four_systems(piped_settings)
    email = frame(
        piped_settings,
        "SELECT min(r.email) AS email FROM mdm.source_record r JOIN mdm.customer_xref x "
        "ON r.source_system = x.source_system AND r.source_key = x.source_key WHERE x.customer_id = :c",
        c=person,
    )["email"].iloc[0]
    sharer = frame(
        piped_settings,
        "SELECT min(source_key) AS key FROM mdm.customer_xref WHERE source_system = 'erp' AND customer_id <> :c",
        c=person,
    )["key"].iloc[0]
    with storage.engine(url).begin() as connection:  # a later load gives the sharer the person's email
        connection.execute(
            sa.text(
                "UPDATE landing.erp_customer SET email = :e, _dlt_load_id = '9999999999.0' "
                "WHERE CAST(customer_no AS VARCHAR) = :k"
            ),
            {"e": email, "k": sharer},
        )
    assert materialize([source_records], resources={"database": database_resource(piped_settings)}).success
    held = "SELECT email, email_local FROM mdm.source_record WHERE source_system = 'erp' AND source_key = :k"
    assert frame(piped_settings, held, k=sharer)["email"].iloc[0] == email

    assert carry_out(piped_settings, "erasure", "customer", person).status == "completed"
    progress = "SELECT count(*) AS n FROM mdm.landing_progress WHERE step = 'source_records' AND table_name = :t"
    assert frame(piped_settings, progress, t="erp_customer")["n"].iloc[0] == 0
    assert frame(piped_settings, progress, t="webshop_customer")["n"].iloc[0] == 1
    result = materialize([source_records], resources={"database": database_resource(piped_settings)})
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["records_read_erp"].value > 1
    assert frame(piped_settings, held, k=sharer).isna().all(axis=None)
    assert scan(piped_settings, {email}) == {}


def test_restriction_and_objection_refuse_every_purpose_at_once(piped_settings):
    golden = frame(piped_settings, "SELECT customer_id FROM mdm.golden_customer ORDER BY customer_id")["customer_id"]
    restricted, objecting = golden.iloc[0], golden.iloc[1]
    carry_out(piped_settings, "restriction", "customer", restricted)
    carry_out(piped_settings, "objection", "customer", objecting)
    flags = frame(piped_settings, "SELECT customer_id, flag FROM mdm.subject_flag ORDER BY flag")
    assert list(flags["flag"]) == ["objected", "restricted"]
    state = frame(
        piped_settings,
        "SELECT customer_id, purpose, granted FROM mdm.consent_state WHERE customer_id IN (:a, :b)",
        a=restricted,
        b=objecting,
    )
    assert len(state) == 10 and not state["granted"].any()
    # A later run (the systems still say what they said) lands, matches and derives consent: it grants nothing back.
    later = run_assets(piped_settings, "landing", "golden", "consent")
    assert later.ok, later.errors + later.failed_checks
    state = frame(
        piped_settings,
        "SELECT granted FROM mdm.consent_state WHERE customer_id IN (:a, :b)",
        a=restricted,
        b=objecting,
    )
    assert len(state) == 10 and not state["granted"].any()


def test_rectification_wins_until_the_system_changes_the_value(piped_settings):
    customer = customer_in_all_four_systems(piped_settings)
    outcome = carry_out(piped_settings, "rectification", "customer", customer, {"last_name": "Rectified-Name"})
    assert outcome.status == "completed", outcome.summary
    golden = frame(piped_settings, "SELECT last_name FROM mdm.golden_customer WHERE customer_id = :c", c=customer)
    if golden["last_name"].iloc[0] != "Rectified-Name":
        pytest.fail("the golden record does not carry the corrected last name")
    assert outcome.summary.get("tools_sent", 0) >= 2  # the email platform and the webshop at least
    later = run_assets(piped_settings, "landing", "golden")  # lands what the tools now hold, survivorship again
    assert later.ok, later.errors + later.failed_checks
    lineage = frame(
        piped_settings,
        "SELECT g.last_name, l.rule FROM mdm.golden_customer g JOIN mdm.golden_lineage l "
        "ON l.customer_id = g.customer_id AND l.attribute = 'last_name' WHERE g.customer_id = :c",
        c=customer,
    )
    # The tools applied the correction, so the systems now agree; either way the corrected value stands.
    if lineage["last_name"].iloc[0] != "Rectified-Name":
        pytest.fail("the corrected last name did not survive the next run")


def test_request_lifecycle_deadline_extension_and_trail(piped_settings):
    customer = frame(piped_settings, "SELECT min(customer_id) AS c FROM mdm.golden_customer")["c"].iloc[0]
    request_id = service.submit(piped_settings, DPO, "access", "customer", customer)
    with pytest.raises(RequestError):
        service.carry_out(piped_settings, DPO, request_id)  # not verified yet
    with pytest.raises(PermissionError):
        service.submit(piped_settings, Actor("someone", "marketing"), "access", "customer", customer)
    with pytest.raises(PermissionError):
        service.submit(piped_settings, Actor("agent", "customer_service"), "erasure", "customer", customer)
    service.verify(piped_settings, DPO, request_id, "test: identity document checked")
    new_deadline = service.extend(piped_settings, DPO, request_id, 2, "many requests at once")
    with pytest.raises(RequestError):
        service.extend(piped_settings, DPO, request_id, 1, "a third month is not allowed")
    service.carry_out(piped_settings, DPO, request_id)
    with storage.engine(piped_settings.database_url).connect() as connection:
        request = dsr.load(connection, request_id)
        steps = dsr.events(connection, request_id)["step"].tolist()
    assert request.status == "completed" and request.deadline == new_deadline
    assert (request.due_on.year * 12 + request.due_on.month) - (
        request.received_at.year * 12 + request.received_at.month
    ) == 1
    assert steps == ["received", "verified", "extended", "completed"]


def test_audit_chain_verifies_and_a_tampered_entry_is_found(piped_settings):
    customer = frame(piped_settings, "SELECT min(customer_id) AS c FROM mdm.golden_customer")["c"].iloc[0]
    carry_out(piped_settings, "access", "customer", customer)
    engine = storage.engine(piped_settings.database_url)
    with engine.connect() as connection:
        result = audit.verify(connection)
    assert result.ok and result.entries >= 3  # received, verified, completed
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # the database itself refuses to rewrite the log
            with pytest.raises(sa.exc.DBAPIError), connection.begin_nested():
                connection.execute(sa.text("UPDATE mdm.audit_log SET actor = 'someone else' WHERE seq = 2"))
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(sa.text("UPDATE mdm.audit_log SET actor = 'someone else' WHERE seq = 2"))
    with engine.connect() as connection:
        tampered = audit.verify(connection)
    assert not tampered.ok and tampered.broken_at == 2


def test_erasure_reaches_quarantined_rows_and_every_load_still_balances(piped_settings):
    quarantined = frame(piped_settings, "SELECT table_name, raw FROM landing.quarantine WHERE system = 'loyalty'")
    members = set(
        frame(piped_settings, "SELECT source_key FROM mdm.customer_xref WHERE source_system = 'loyalty'")["source_key"]
    )
    owners = set()
    for raw in quarantined["raw"]:
        row = json.loads(raw)
        fields = row.get("line", "").split(";") if "line" in row else [row.get("jasennumero", "")]
        owners |= {f.strip() for f in fields[:1]} & members
    assert owners, "the simulated loyalty drops hold a broken row of a known member"
    member = sorted(owners)[0]
    outcome = carry_out(piped_settings, "erasure", "record", f"loyalty:{member}")
    assert outcome.status == "completed", outcome.summary
    left = frame(piped_settings, "SELECT raw FROM landing.quarantine")["raw"]
    assert not any(member in raw for raw in left)
    landed = run_assets(piped_settings, "landing")  # rows_accounted_for still balances every system's last load
    assert landed.ok, landed.errors + landed.failed_checks


def test_the_command_line_answers_access_and_erasure_by_email(piped_settings):
    customer = customer_in_all_four_systems(piped_settings)
    email = frame(piped_settings, "SELECT email FROM mdm.golden_customer WHERE customer_id = :c", c=customer)
    env = {"HUB_HOME": str(piped_settings.home), "HUB_DATABASE_URL": piped_settings.database_url, "COLUMNS": "200"}
    env.update({f"HUB_{k.upper()}": str(v) for k, v in _tools(piped_settings).items()})
    runner = CliRunner()
    access = runner.invoke(app, ["dsr", "access", "--email", email["email"].iloc[0], "--json"], env=env)
    assert access.exit_code == 0
    report = json.loads(access.stdout)
    assert set(report["systems"]) == FOUR and customer in report["customer_ids"]
    refused = runner.invoke(app, ["dsr", "erase", "--email", email["email"].iloc[0]], env=env)
    assert refused.exit_code == 2  # without --yes nothing happens
    erased = runner.invoke(app, ["dsr", "erase", "--email", email["email"].iloc[0], "--yes"], env=env)
    assert erased.exit_code == 0 and "completed" in erased.stdout
    assert (
        frame(piped_settings, "SELECT count(*) AS n FROM mdm.golden_customer WHERE customer_id = :c", c=customer)[
            "n"
        ].iloc[0]
        == 0
    )
    listed = runner.invoke(app, ["dsr", "list"], env=env)
    assert listed.exit_code == 0 and "erasure" in listed.stdout


def _tools(settings) -> dict[str, str]:
    names = ("esp_url", "esp_key", "esp_list_id", "webshop_url", "webshop_key", "webshop_secret", "outbox_dir")
    return {name: getattr(settings, name) for name in names if getattr(settings, name)}


@pytest.mark.parametrize("piped_backend", ["postgresql"], indirect=True)
def test_on_postgresql_every_lookup_of_a_request_is_answered_from_an_index(piped_settings):
    """At 400,000 persons an erasure spent most of its five seconds reading whole landing tables for a few rows."""
    looked_up = 0
    with storage.engine(piped_settings.database_url).begin() as connection:
        connection.execute(sa.text("SET LOCAL enable_seqscan = off"))  # a scan only where no index fits
        for table in landed_tables():
            present = storage.table_columns(connection, "landing", table.name)
            for expression, column in lookup_expressions(table).items():
                if column not in present:
                    continue
                plan = connection.execute(
                    sa.text(f"EXPLAIN SELECT 1 FROM landing.{table.name} WHERE {expression} IN ('x', 'y')")
                ).scalars()
                assert "Index" in " ".join(plan), f"{table.name}: {expression}"
                looked_up += 1
    assert looked_up >= 15
