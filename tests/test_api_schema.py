"""Schemathesis over the hub API's whole OpenAPI schema, on DuckDB and PostgreSQL: whatever a client sends,
values the schema allows and values it does not, the API answers without a server error (a bad value is a
4xx, never a 5xx).

The API is served on a real port over a piped hub and called as a DPO (every table, every purpose) for the
audit purpose, so that requests get past authentication. A path parameter is sometimes swapped for a name the
hub knows (an audience, a table, a customer, a request), so that generated queries and bodies also reach the
code behind the 404 of an unknown name. Few examples per operation keep the test under a minute per backend.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, strategies
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from hub import api_clients, storage
from hub.access.policy import load_policy
from hub.api.app import create_app
from hub.segments.definitions import load_audiences, load_segments
from hub.serving import serving

EXAMPLES = 15  # per operation, the two generation modes together
PURPOSE = "audit"


def known_values(settings, url: str, headers: dict[str, str]) -> dict[str, list[str]]:
    """Real values for each path parameter of the API."""
    with storage.engine(settings.database_url).connect() as connection:
        customers = storage.read_frame(connection, "SELECT customer_id FROM mdm.golden_customer ORDER BY 1 LIMIT 3")
    opened = requests.post(
        f"{url}/dsr",
        json={"kind": "access", "identifier_kind": "customer", "identifier": customers["customer_id"].iloc[0]},
        headers=headers,
        timeout=30,
    )
    assert opened.status_code == 201
    return {
        "name": [audience.name for audience in load_audiences(load_segments()).audiences],
        "table": sorted(load_policy().tables),
        "customer_id": list(customers["customer_id"]),
        "request_id": [opened.json()["request_id"]],
    }


def test_no_request_gets_a_server_error(piped_settings):
    with storage.engine(piped_settings.database_url).begin() as connection:
        token = api_clients.add(connection, "schemathesis", "dpo")
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": PURPOSE}
    failures: list[str] = []
    with serving(create_app(piped_settings)) as url:
        known = known_values(piped_settings, url, headers)

        def with_known(case, pick: int | None):
            for name in list(case.path_parameters or {}):
                if pick is not None and name in known:
                    case.path_parameters[name] = known[name][pick % len(known[name])]
            return case

        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 15, "every router's operations are in the schema"
        for operation in operations:
            generated = strategies.one_of(
                operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
                operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
            )
            cases = strategies.builds(with_known, generated, strategies.none() | strategies.integers(0, 99))

            @given(case=cases)
            @hypothesis_settings(
                max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
            )
            def answers_without_server_error(case):
                response = case.call(base_url=url, headers=headers, timeout=30)
                case.validate_response(response, checks=[not_a_server_error])

            try:
                answers_without_server_error()
            except* AssertionError as found:  # schemathesis' failed checks: every operation is tried, then reported
                failures.append(f"{operation.label}: {found}")
    if failures:
        pytest.fail("\n\n".join(failures))
