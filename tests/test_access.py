"""Access rules: every role reads every table it may through the one read path and finds nothing it must not see.

The hubs are real (DuckDB and PostgreSQL after a full pipeline run); on PostgreSQL real login roles
connect straight to the database, as a BI tool would.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
from dagster import materialize
from typer.testing import CliRunner

from hub import storage
from hub.access.assets import role_views
from hub.access.database_roles import apply_database_roles, grant_login, group_role
from hub.access.policy import AccessDenied, PolicyError, load_policy, mask_frame, mask_value
from hub.access.reader import ViewMissing, read_table
from hub.access.views import apply_views, database_columns, drop_views
from hub.cli import app
from hub.resources import database_resource

POLICY = load_policy()
TEXT_MASK = re.compile(r"^(.\*\*\*)?$", re.DOTALL)
YEAR_MASK = re.compile(r"^\d{4}$")
CONSENT_PURPOSE = "email_marketing"
DOCUMENTATION_IP = "192.0.2.10"  # TEST-NET-1 (RFC 5737): an address of nobody


def _purpose(role) -> str:
    """An operational purpose of the role if it has one, otherwise a consent purpose."""
    operational = sorted(role.purposes - POLICY.consent_purposes)
    return operational[0] if operational else CONSENT_PURPOSE


def _rows(connection, sql: str, **params) -> list:
    return list(connection.execute(sa.text(sql), params))


def _prepare(engine: sa.Engine) -> dict[str, str]:
    """Flag two real customers, record consent for some, add consent events; returns the flagged IDs."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        ids = [r[0] for r in _rows(connection, "SELECT customer_id FROM mdm.golden_customer ORDER BY customer_id")]
        flagged = {"restricted": ids[3], "objected": ids[4]}
        for flag, customer in flagged.items():
            connection.execute(
                sa.text(
                    "INSERT INTO mdm.subject_flag (customer_id, flag, request_id, since) VALUES (:c, :f, 'REQ-T', :t)"
                ),
                {"c": customer, "f": flag, "t": now},
            )
        known = {
            r[0]
            for r in _rows(
                connection, "SELECT customer_id FROM mdm.consent_state WHERE purpose = :p", p=CONSENT_PURPOSE
            )
        }
        # The flagged two have consented: the views must hide them for the flag, not for want of consent.
        connection.execute(
            sa.text("DELETE FROM mdm.consent_state WHERE purpose = :p AND customer_id IN (:a, :b)"),
            {"p": CONSENT_PURPOSE, "a": flagged["restricted"], "b": flagged["objected"]},
        )
        known -= set(flagged.values())
        for position, customer in enumerate(ids[:40]):
            if customer in flagged.values():
                connection.execute(
                    sa.text(
                        "INSERT INTO mdm.consent_state (customer_id, purpose, granted, basis, rule, updated_at) "
                        "VALUES (:c, :p, TRUE, 'consent', 'test', :t)"
                    ),
                    {"c": customer, "p": CONSENT_PURPOSE, "t": now},
                )
            elif customer not in known:
                connection.execute(
                    sa.text(
                        "INSERT INTO mdm.consent_state (customer_id, purpose, granted, basis, rule, updated_at) "
                        "VALUES (:c, :p, :g, 'consent', 'test', :t)"
                    ),
                    {"c": customer, "p": CONSENT_PURPOSE, "g": position % 2 == 1, "t": now},
                )
        record = _rows(
            connection,
            "SELECT source_system, source_key FROM mdm.customer_xref WHERE customer_id = :c",
            c=flagged["restricted"],
        )[0]
        events = [
            (record[0], record[1], DOCUMENTATION_IP),
            ("dsr", flagged["restricted"], None),
            (
                *_rows(
                    connection,
                    "SELECT source_system, source_key FROM mdm.customer_xref WHERE customer_id = :c",
                    c=ids[5],
                )[0],
                DOCUMENTATION_IP,
            ),
        ]
        for number, (system, key, ip) in enumerate(events):
            connection.execute(
                sa.text(
                    "INSERT INTO mdm.consent_event (event_id, source_system, source_key, purpose, action, occurred_at, "
                    "evidence, ip, recorded_at) VALUES (:e, :s, :k, :p, 'grant', :t, 'test evidence', :ip, :t)"
                ),
                {"e": f"TEST-{number}", "s": system, "k": key, "p": CONSENT_PURPOSE, "t": now, "ip": ip},
            )
    return flagged


def _row_customers(frame: pd.DataFrame, rule, xref: dict, requests: dict) -> list:
    """The customer each row is about, computed in Python from the row's visible link columns."""
    link = rule.subject
    if link.customer:
        return list(frame[link.customer])
    if link.request:
        return [requests.get(r) for r in frame[link.request]]
    systems = [link.system] * len(frame) if link.system else list(frame[link.system_column])
    keys = [str(k) for k in frame[link.key_column]]
    return [k if s in link.customer_systems else xref.get((s, k)) for s, k in zip(systems, keys, strict=True)]


def test_every_role_reads_every_table_it_may_and_nothing_it_must_not(piped_settings):
    engine = storage.engine(piped_settings.database_url)
    with engine.connect() as connection:
        assert storage.table_exists(connection, "access_marketing", "golden_customer_for_email_marketing")
        assert not storage.table_exists(connection, "access_marketing", "golden_customer"), "consenting people only"
    flagged = _prepare(engine)
    apply_views(engine)
    with engine.connect() as connection:
        types = database_columns(connection, {"mdm", "landing"})
        xref = {
            (s, k): c
            for s, k, c in _rows(connection, "SELECT source_system, source_key, customer_id FROM mdm.customer_xref")
        }
        requests = dict(_rows(connection, "SELECT request_id, customer_id FROM mdm.dsr_request"))
        granted = {
            r[0]
            for r in _rows(
                connection,
                "SELECT customer_id FROM mdm.consent_state WHERE purpose = :p AND granted",
                p=CONSENT_PURPOSE,
            )
        }
        masked_values = 0
        for role in POLICY.roles.values():
            purpose = _purpose(role)
            for table in sorted(role.tables & set(types)):
                frame = read_table(connection, role.name, table, purpose)
                access = role.columns(table)
                shown = {c for c in types[table] if access.get(c, "never") != "never"}
                assert set(frame.columns) == shown, (role.name, table)
                for column in shown:
                    if access[column] == "mask":
                        pattern = (
                            YEAR_MASK if types[table][column].lower().startswith(("date", "timestamp")) else TEXT_MASK
                        )
                        values = frame[column].dropna()
                        assert all(pattern.match(str(v)) for v in values), (role.name, table, column)
                        masked_values += len(values)
                rule = POLICY.table(table)
                about = set(_row_customers(frame, rule, xref, requests)) if rule.subject else set()
                for flag, customer in flagged.items():
                    if flag in role.flags_hidden_in(table):
                        assert customer not in about, (role.name, table, flag)
                    elif table == "mdm.golden_customer":
                        assert customer in about or purpose in POLICY.consent_purposes, (role.name, table, flag)
                if purpose in POLICY.consent_purposes and rule.subject:
                    assert about <= granted, (role.name, table)
            for table in sorted(set(POLICY.tables) - role.tables):
                with pytest.raises(AccessDenied):
                    read_table(connection, role.name, table, purpose)
            for other in sorted(set(POLICY.purposes) - role.purposes):
                with pytest.raises(AccessDenied):
                    read_table(connection, role.name, sorted(role.tables)[0], other)
        assert masked_values > 0
        marketing = set(read_table(connection, "marketing", "golden_customer", CONSENT_PURPOSE)["customer_id"])
        assert marketing == granted - set(flagged.values())
        pipeline = set(read_table(connection, "pipeline", "golden_customer", CONSENT_PURPOSE)["customer_id"])
        assert pipeline == granted and flagged["restricted"] in granted
        one = read_table(
            connection,
            "customer_service",
            "golden_customer",
            "customer_service",
            "customer_id = :c",
            c=flagged["objected"],
        )
        assert len(one) == 1
        hidden = read_table(
            connection,
            "customer_service",
            "golden_customer",
            "customer_service",
            "customer_id = :c",
            c=flagged["restricted"],
        )
        assert hidden.empty
        events = read_table(
            connection, "customer_service", "consent_event", "customer_service", "event_id LIKE 'TEST-%'"
        )
        assert list(events["event_id"]) == ["TEST-2"] and list(events["ip"]) == [mask_value(DOCUMENTATION_IP)]
        with pytest.raises(AccessDenied):
            read_table(connection, "nobody", "golden_customer", "analytics")


@pytest.mark.parametrize(("role", "table"), [("finance", "golden_customer"), ("analyst", "golden_customer")])
def test_views_mask_exactly_as_mask_frame(piped_settings, role, table):
    engine = storage.engine(piped_settings.database_url)
    rules = POLICY.role(role)
    with engine.connect() as connection:
        base = storage.read_frame(connection, f"SELECT * FROM mdm.{table}").sort_values("customer_id")
        shown = read_table(connection, role, table, _purpose(rules)).sort_values("customer_id")
    expected = mask_frame(rules, table, base)
    assert list(expected.columns) == list(shown.columns)
    masked = [c for c, level in rules.columns(table).items() if level == "mask"]
    assert masked and base[masked].notna().any().all()
    for column in masked:
        assert shown[column].astype(object).where(shown[column].notna(), None).tolist() == expected[column].tolist()


def test_the_policy_classifies_every_column_of_every_table_in_the_hub(piped_settings):
    with storage.engine(piped_settings.database_url).connect() as connection:
        present = database_columns(connection, {"mdm", "landing"})
    tables = {t for t in present if not t.split(".")[1].startswith("_dlt_") and t != "mdm.alembic_version"}
    assert tables - set(POLICY.tables) == set(), "tables the policy does not cover"
    unclassified = {t: sorted(set(present[t]) - set(POLICY.table(t).categories)) for t in tables}
    assert {t: c for t, c in unclassified.items() if c} == {}


def test_views_skip_absent_tables_and_appear_with_them(settings):
    runner = CliRunner()
    env = {"HUB_DATABASE_URL": settings.database_url, "HUB_HOME": str(settings.home)}
    result = runner.invoke(app, ["access", "apply"], env=env)
    assert result.exit_code == 0, result.output
    engine = storage.engine(settings.database_url)
    with engine.connect() as connection:
        assert storage.table_exists(connection, "access_dpo", "golden_customer")
        assert not storage.table_exists(connection, "access_dpo", "load_ledger")
        with pytest.raises(ViewMissing):
            read_table(connection, "dpo", "load_ledger", "processing")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE SCHEMA IF NOT EXISTS landing"))
        connection.execute(
            sa.text("CREATE TABLE landing.load_ledger (entry_id VARCHAR, rows_read BIGINT, extra VARCHAR)")
        )
    applied = apply_views(engine)
    assert "load_ledger" in applied.views["pipeline"] and applied.unclassified == {"landing.load_ledger": ["extra"]}
    with engine.connect() as connection:
        assert list(read_table(connection, "dpo", "load_ledger", "processing").columns) == ["entry_id", "rows_read"]
        drop_views(connection)
        with pytest.raises(ViewMissing):
            read_table(connection, "dpo", "golden_customer", "processing")


def test_views_are_made_again_only_when_what_they_come_from_changed(piped_settings):
    url = piped_settings.database_url

    def made() -> bool:
        result = materialize([role_views], resources={"database": database_resource(piped_settings)})
        assert result.success
        (event,) = result.get_asset_materialization_events()
        return event.materialization.metadata["views_made"].value

    assert made() is False  # the pipeline's run made them, and nothing changed since
    with storage.engine(url).begin() as connection:
        connection.execute(sa.text("DROP VIEW IF EXISTS access_dpo.golden_customer CASCADE"))
    assert made() is True
    with storage.engine(url).connect() as connection:
        assert storage.table_exists(connection, "access_dpo", "golden_customer")
    with storage.engine(url).begin() as connection:  # a table's columns changed: made again once
        connection.execute(sa.text("ALTER TABLE mdm.consent_state ADD COLUMN note VARCHAR"))
    assert made() is True
    assert made() is False
    with storage.engine(url).begin() as connection:  # a table gone takes its views along
        connection.execute(sa.text("DROP TABLE landing.esp_campaign CASCADE"))
    assert made() is True
    with storage.engine(url).connect() as connection:
        assert not storage.table_exists(connection, "access_dpo", "esp_campaign")
    assert made() is False


def test_commands_list_roles_and_what_a_role_sees():
    runner = CliRunner()
    roles = runner.invoke(app, ["access", "roles"], env={"COLUMNS": "250"})
    assert roles.exit_code == 0 and all(r in roles.output for r in POLICY.roles)
    shown = runner.invoke(app, ["access", "show", "analyst"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0 and "birth_date" in shown.output and "access_analyst" in shown.output
    assert runner.invoke(app, ["access", "show", "nobody"]).exit_code == 2


def test_masking_keeps_null_and_gives_first_character_or_year():
    assert mask_value(None) is None and mask_value(float("nan")) is None
    assert mask_value("xyz") == "x***" and mask_value("") == ""
    assert mask_value(pd.Timestamp("2001-02-03")) == "2001" and mask_value(True) == "t***"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ('[roles.x]\ntables = ["mdm.nowhere"]\n', "mdm.nowhere"),
        ('[tables."mdm.t"]\ncolumns.secretish = ["c"]\n', "secretish"),
        ('[tables."mdm.t"]\nsubject = { customer = "customer_id" }\ncolumns.technical = ["c"]\n', "customer_id"),
        (
            '[tables."mdm.t"]\ncolumns.technical = ["c"]\n'
            '[roles.x]\ntables = ["mdm.t"]\nhidden_flags = ["restricted"]\n',
            "mdm.t",
        ),
        ('[roles.x]\nsee = ["technical"]\nmask = ["technical"]\n', "technical"),
        ('[roles.x]\n[actions]\nerase = ["x", "nobody"]\n', "nobody"),
    ],
)
def test_an_inconsistent_policy_is_refused_naming_the_culprit(tmp_path, change, named):
    categories = "".join(f'{name} = "c"\n' for name in POLICY.categories)  # the landing tables' categories
    base = f"[purposes]\np = {{ consent = false }}\n[categories]\n{categories}"
    sections = "" if "[tables." in change else "[tables]\n"
    sections += change + ("" if "[roles." in change else "[roles]\n")
    sections += "" if "[actions]" in change else "[actions]\n"
    path = tmp_path / "policy.toml"
    path.write_text(base + sections)
    with pytest.raises(PolicyError, match=re.escape(named)):
        load_policy(path)


def _login(settings, role: str) -> str:
    user = f"hub_test_{uuid.uuid4().hex[:10]}"
    grant_login(storage.engine(settings.database_url), user, role)
    return user


def _drop_login(settings, user: str) -> None:
    with storage.engine(settings.database_url).begin() as connection:
        connection.execute(sa.text(f'DROP OWNED BY "{user}"'))
        connection.execute(sa.text(f'DROP ROLE "{user}"'))


def _connect(settings, user: str) -> psycopg.Connection:
    url = sa.make_url(settings.database_url)
    return psycopg.connect(host=url.host, port=url.port or 5432, dbname=url.database, user=user, autocommit=True)


def _denied(connection: psycopg.Connection, sql: str) -> bool:
    try:
        connection.execute(sql).fetchall()
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def _columns(connection: psycopg.Connection, sql: str) -> tuple[list[str], list[tuple]]:
    cursor = connection.execute(sql)
    return [d.name for d in cursor.description], cursor.fetchall()


@pytest.mark.parametrize("piped_backend", ["postgresql"], indirect=True)  # DuckDB has no roles
def test_postgres_login_roles_read_only_their_views(piped_settings):
    engine = storage.engine(piped_settings.database_url)
    flagged = _prepare(engine)
    apply_views(engine)
    assert group_role("marketing") in apply_database_roles(engine)
    logins = {role: _login(piped_settings, role) for role in ("marketing", "analyst")}
    try:
        with _connect(piped_settings, logins["marketing"]) as connection:
            for table in ("mdm.golden_customer", "mdm.subject_flag", "landing.erp_customer", "landing.erp_invoice"):
                assert _denied(connection, f"SELECT * FROM {table} LIMIT 1"), table
            assert _denied(connection, "SELECT * FROM access_pipeline.golden_customer LIMIT 1")
            assert _denied(connection, "DELETE FROM mdm.golden_customer")
            # A function of the reader's own, evaluated on rows the view filters out, would leak them.
            assert _denied(
                connection, "CREATE FUNCTION pg_temp.peek(text) RETURNS boolean LANGUAGE sql AS 'SELECT true'"
            )
            barrier = connection.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'access_marketing' AND c.relkind = 'v' "
                "AND NOT coalesce('security_barrier=true' = ANY(c.reloptions), false)"
            ).fetchone()[0]
            assert barrier == 0, "every role view is a security barrier"
            # A BI tool cannot say why it reads: a role whose every purpose needs consent gets only views of
            # the people who consented to one of them, one per purpose.
            views = [
                row[0]
                for row in connection.execute(
                    "SELECT table_name FROM information_schema.views WHERE table_schema = 'access_marketing'"
                ).fetchall()
            ]
            names, rows = _columns(connection, "SELECT * FROM access_marketing.golden_customer_for_email_marketing")
            readable = {
                view: {row[0] for row in connection.execute(f"SELECT customer_id FROM access_marketing.{view}")}
                for view in views
            }
        assert views and all("_for_" in view for view in views)
        visible = POLICY.role("marketing").columns("golden_customer")
        assert names == [c for c, level in visible.items() if level != "never"]
        births = [row[names.index("birth_date")] for row in rows if row[names.index("birth_date")] is not None]
        assert births and all(YEAR_MASK.match(b) for b in births)
        with engine.connect() as connection:
            granted = storage.read_frame(connection, "SELECT customer_id, purpose FROM mdm.consent_state WHERE granted")
        for view, ids in readable.items():
            purpose = view.split("_for_")[1]
            assert ids <= set(granted.loc[granted["purpose"] == purpose, "customer_id"]), view
            assert not ids & set(flagged.values()), view
        assert readable["golden_customer_for_email_marketing"]
        with _connect(piped_settings, logins["analyst"]) as connection:
            assert _denied(connection, "SELECT * FROM access_marketing.golden_customer_for_email_marketing LIMIT 1")
            assert _denied(connection, "SELECT * FROM mdm.consent_state LIMIT 1")
            names, rows = _columns(connection, "SELECT * FROM access_analyst.golden_customer")
            assert not {"first_name", "last_name", "email", "phone", "street"} & set(names)
            assert rows and not {row[names.index("customer_id")] for row in rows} & set(flagged.values())
    finally:
        for user in logins.values():
            _drop_login(piped_settings, user)
