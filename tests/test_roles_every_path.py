"""Every role, through every read path of the hub, sees nothing it must not: the HTTP API and the command line.

(The database roles and views a BI tool reads through are tested in ``tests/test_access.py``.)
Failures name roles, tables and columns only: a value is never put into an assertion message.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
import requests
import sqlalchemy as sa
from typer.testing import CliRunner

from hub import api_clients, audit, storage
from hub.access.acting import Actor, default_purpose
from hub.access.policy import load_policy
from hub.api.app import create_app
from hub.cli import app
from hub.gdpr import service
from hub.serving import serving

MASKED = re.compile(r"^(.\*\*\*|\d{4})$")
DPO = Actor("test-dpo", "dpo")


def frame(settings, sql: str, **params) -> pd.DataFrame:
    with storage.engine(settings.database_url).connect() as connection:
        return storage.read_frame(connection, sql, **params)


def flag(settings, kind: str, customer_id: str) -> None:
    request_id = service.submit(settings, DPO, kind, "customer", customer_id)
    service.verify(settings, DPO, request_id, "test: identity document checked")
    service.carry_out(settings, DPO, request_id)


@pytest.fixture
def flagged(piped_settings) -> dict[str, str]:
    """One customer restricted and one objecting, through real requests."""
    ids = frame(piped_settings, "SELECT customer_id FROM mdm.golden_customer ORDER BY customer_id")["customer_id"]
    flag(piped_settings, "restriction", ids.iloc[0])
    flag(piped_settings, "objection", ids.iloc[1])
    return {"restricted": ids.iloc[0], "objected": ids.iloc[1]}


def check_rows(role, table: str, rows: list[dict], flagged: dict[str, str]) -> None:
    columns = role.columns(table)
    for row in rows:
        for column, value in row.items():
            access = columns.get(column, "never")
            if access == "never":
                pytest.fail(f"{role.name} got column {column} of {table}, which it must never see")
            if access == "mask" and value is not None and not MASKED.match(str(value)):
                pytest.fail(f"{role.name} got {table}.{column} unmasked")
    hidden = {flagged[f] for f in role.flags_hidden_in(table) if f in flagged}
    if hidden and any(row.get("customer_id") in hidden for row in rows):
        pytest.fail(f"{role.name} saw a flagged person in {table}")


def test_the_api_shows_each_role_only_what_the_policy_allows(piped_settings, flagged):
    policy = load_policy()
    engine = storage.engine(piped_settings.database_url)
    tokens = {}
    with engine.begin() as connection:
        for name in policy.roles:
            tokens[name] = api_clients.add(connection, f"test-{name}", name)
    reads = 0
    with serving(create_app(piped_settings)) as url:
        for name, role in policy.roles.items():
            headers = {"Authorization": f"Bearer {tokens[name]}", "X-Purpose": default_purpose(role, policy)}
            for table in sorted(role.tables):
                answer = requests.get(f"{url}/tables/{table}", params={"limit": 1000}, headers=headers, timeout=30)
                assert answer.status_code == 200, (name, table, answer.status_code)
                reads += 1
                check_rows(role, table, answer.json()["rows"], flagged)
            for table in sorted(set(policy.tables) - role.tables):
                answer = requests.get(f"{url}/tables/{table}", headers=headers, timeout=30)
                assert answer.status_code == 403, (name, table)
            hides = role.flags_hidden_in("mdm.golden_customer") if "mdm.golden_customer" in role.tables else set()
            for kind, customer_id in flagged.items():
                answer = requests.get(f"{url}/customers/{customer_id}", headers=headers, timeout=30)
                if "mdm.golden_customer" not in role.tables:
                    assert answer.status_code == 403, name
                    continue
                reads += 1
                assert answer.status_code == (404 if kind in hides else 200), (name, kind)
            refused = sorted(set(policy.purposes) - role.purposes)
            if refused:
                answer = requests.get(
                    f"{url}/tables/mdm.golden_customer", headers={**headers, "X-Purpose": refused[0]}, timeout=30
                )
                assert answer.status_code == 403, name
        lookups = frame(
            piped_settings,
            "SELECT g.customer_id, g.email, g.phone, x.source_system || ':' || x.source_key AS record "
            "FROM mdm.golden_customer g JOIN mdm.customer_xref x ON x.customer_id = g.customer_id "
            "WHERE g.email IS NOT NULL AND g.phone IS NOT NULL AND g.customer_id NOT IN (:a, :b) "
            "ORDER BY g.customer_id LIMIT 1",
            a=flagged["restricted"],
            b=flagged["objected"],
        ).iloc[0]
        for name, role in policy.roles.items():
            headers = {"Authorization": f"Bearer {tokens[name]}", "X-Purpose": default_purpose(role, policy)}
            for kind, table, column in (
                ("email", "mdm.golden_customer", "email"),
                ("phone", "mdm.golden_customer", "phone"),
                ("record", "mdm.customer_xref", "source_key"),
            ):
                answer = requests.get(f"{url}/customers", params={kind: lookups[kind]}, headers=headers, timeout=30)
                allowed = "mdm.golden_customer" in role.tables and role.column_access(table, column) == "see"
                if not allowed and answer.status_code != 403:
                    pytest.fail(f"{name} could look people up by {kind}")
                if allowed:
                    reads += len(answer.json()["customers"]) or 1
                    check_rows(role, "mdm.golden_customer", answer.json()["customers"], flagged)
            consent = requests.get(f"{url}/customers/{flagged['objected']}/consent", headers=headers, timeout=30)
            hidden = "mdm.consent_state" in role.tables and "objected" in role.flags_hidden_in("mdm.consent_state")
            expected = 403 if "mdm.consent_state" not in role.tables else 404 if hidden else 200
            assert consent.status_code == expected, (name, consent.status_code)
            reads += consent.status_code in (200, 404)
            handles = name in ("dpo", "customer_service")
            opened = requests.post(
                f"{url}/dsr",
                json={"kind": "access", "identifier_kind": "customer", "identifier": lookups["customer_id"]},
                headers=headers,
                timeout=30,
            )
            assert opened.status_code == (201 if handles else 403), name
        marketing = {"Authorization": f"Bearer {tokens['marketing']}"}
        assert requests.get(f"{url}/tables/mdm.golden_customer", headers=marketing, timeout=30).status_code == 400
        assert requests.get(f"{url}/tables/mdm.golden_customer", timeout=30).status_code == 401
        emailing = {**marketing, "X-Purpose": "email_marketing"}
        answer = requests.get(f"{url}/tables/mdm.golden_customer", params={"limit": 1000}, headers=emailing, timeout=30)
        reads += 1
        granted = set(
            frame(
                piped_settings,
                "SELECT customer_id FROM mdm.consent_state WHERE purpose = 'email_marketing' AND granted",
            )["customer_id"]
        )
        returned = {row["customer_id"] for row in answer.json()["rows"]}
        assert returned and returned <= granted
    with engine.connect() as connection:
        logged = connection.execute(sa.text("SELECT count(*) FROM mdm.audit_log WHERE action = 'read'")).scalar()
        assert audit.verify(connection).ok
    assert logged == reads


def test_the_command_line_shows_each_role_only_what_the_policy_allows(piped_settings, flagged):
    policy = load_policy()
    env = {"HUB_HOME": str(piped_settings.home), "HUB_DATABASE_URL": piped_settings.database_url}
    runner = CliRunner()
    for name, role in policy.roles.items():
        purpose = default_purpose(role, policy)
        visible = frame(
            piped_settings,
            "SELECT customer_id, email, phone, last_name FROM mdm.golden_customer g "
            "WHERE email IS NOT NULL AND phone IS NOT NULL AND customer_id NOT IN (:a, :b) "
            "AND (:consented = 0 OR customer_id IN "
            "(SELECT customer_id FROM mdm.consent_state WHERE purpose = :p AND granted)) "
            "ORDER BY customer_id LIMIT 1",
            a=flagged["restricted"],
            b=flagged["objected"],
            p=purpose,
            consented=int(purpose in policy.consent_purposes),
        ).iloc[0]
        shown = runner.invoke(app, ["--role", name, "customer", "show", visible["customer_id"]], env=env)
        if "mdm.golden_customer" not in role.tables:
            assert shown.exit_code == 2, name
            continue
        assert shown.exit_code == 0, name
        for column in ("email", "phone", "last_name"):
            if role.column_access("mdm.golden_customer", column) != "see" and visible[column] in shown.output:
                pytest.fail(f"`hub customer show` printed the {column} to role {name}")
        for kind, customer_id in flagged.items():
            hidden = kind in role.flags_hidden_in("mdm.golden_customer")
            result = runner.invoke(app, ["--role", name, "customer", "show", customer_id], env=env)
            assert (result.exit_code == 1) == hidden, (name, kind)
        review = runner.invoke(app, ["--role", name, "review"], env=env)
        assert review.exit_code == (0 if {"mdm.source_record", "mdm.match_pair"} <= role.tables else 2), name
        quarantine = runner.invoke(app, ["--role", name, "quarantine"], env=env)
        assert quarantine.exit_code == (0 if "landing.quarantine" in role.tables else 2), name
        consent = runner.invoke(app, ["--role", name, "consent", "show", visible["customer_id"]], env=env)
        assert consent.exit_code == (0 if "mdm.consent_state" in role.tables else 2), name
        history = runner.invoke(app, ["--role", name, "customer", "history", visible["customer_id"]], env=env)
        assert history.exit_code == (0 if "mdm.customer_id_history" in role.tables else 2), name
        requests_listed = runner.invoke(app, ["--role", name, "dsr", "list"], env=env)
        assert requests_listed.exit_code == (0 if name in ("dpo", "customer_service") else 2), name
