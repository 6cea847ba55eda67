"""Every command that changes data checks the acting role against the policy's [actions] and audits it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub import storage
from hub.access.policy import load_policy
from hub.cli import app


def env_of(settings) -> dict[str, str]:
    return {"HUB_HOME": str(settings.home), "HUB_DATABASE_URL": settings.database_url, "COLUMNS": "200"}


def rows(settings, sql: str, **params) -> list[tuple]:
    with storage.engine(settings.database_url).connect() as connection:
        return [tuple(r) for r in connection.execute(sa.text(sql), params)]


def two_records(settings) -> tuple[str, str, str]:
    """(customer, one of its records, a record of another customer)."""
    xref = rows(settings, "SELECT customer_id, source_system || ':' || source_key FROM mdm.customer_xref ORDER BY 1, 2")
    customer, record = next((c, r) for c, r in xref if sum(1 for other, _ in xref if other == c) > 1)
    other = next(r for c, r in xref if c != customer)
    return customer, record, other


@pytest.mark.parametrize("role", ["marketing", "analyst", "customer_service", "finance", "pipeline", "steward"])
def test_a_role_that_may_not_manage_clients_gets_no_token(piped_settings, role):
    result = CliRunner().invoke(
        app, ["--role", role, "api", "add-client", "intruder", "--role", "dpo"], env=env_of(piped_settings)
    )
    assert result.exit_code == 2 and "may not manage api clients" in result.output
    assert rows(piped_settings, "SELECT name FROM mdm.api_client") == []


def test_only_stewards_and_the_dpo_decide_matches_and_unmerge(piped_settings):
    customer, record, other = two_records(piped_settings)
    env = env_of(piped_settings)
    runner = CliRunner()
    for role in sorted(set(load_policy().roles) - {"steward", "dpo"}):
        accepted = runner.invoke(app, ["--role", role, "review", "accept", record, other], env=env)
        rejected = runner.invoke(app, ["--role", role, "review", "reject", record, other], env=env)
        unmerged = runner.invoke(app, ["--role", role, "customer", "unmerge", customer, "--record", record], env=env)
        assert (accepted.exit_code, rejected.exit_code, unmerged.exit_code) == (2, 2, 2), role
    assert rows(piped_settings, "SELECT decision FROM mdm.match_override") == []

    decided = runner.invoke(app, ["--role", "steward", "review", "reject", record, other], env=env)
    split = runner.invoke(app, ["--role", "steward", "customer", "unmerge", customer, "--record", record], env=env)
    assert decided.exit_code == 0 and split.exit_code == 0, decided.output + split.output
    overrides = rows(piped_settings, "SELECT decision FROM mdm.match_override")
    assert overrides and {d for (d,) in overrides} == {"cannot_link"}
    audited = rows(piped_settings, "SELECT action, role FROM mdm.audit_log WHERE action IN ('decide_match', 'unmerge')")
    assert sorted(audited) == [("decide_match", "steward"), ("unmerge", "steward")]


def test_an_administrator_adds_a_client_and_the_addition_is_audited(piped_settings):
    runner = CliRunner()
    added = runner.invoke(
        app, ["--role", "admin", "api", "add-client", "crm", "--role", "marketing"], env=env_of(piped_settings)
    )
    assert added.exit_code == 0, added.output
    assert rows(piped_settings, "SELECT name, role FROM mdm.api_client") == [("crm", "marketing")]
    detail = rows(piped_settings, "SELECT role, detail FROM mdm.audit_log WHERE action = 'manage_api_clients'")
    assert len(detail) == 1 and detail[0][0] == "admin" and '"client_role":"marketing"' in detail[0][1]
    refused = runner.invoke(app, ["--role", "marketing", "dsr", "list"], env=env_of(piped_settings))
    assert refused.exit_code == 2 and "may not handle request" in refused.output


def test_a_run_needs_the_pipeline_role(piped_settings):
    refused = CliRunner().invoke(app, ["--role", "analyst", "run"], env=env_of(piped_settings))
    assert refused.exit_code == 2 and "may not run pipeline" in refused.output
