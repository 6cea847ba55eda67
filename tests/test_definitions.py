"""The Dagster definitions load, from the code location `workspace.yaml` names too, and their asset keys do
not change by accident."""

import importlib
from pathlib import Path

import yaml
from dagster import Definitions, RunRequest, build_sensor_context

from hub.asset_keys import access_key, consent_key, golden_key, landing_key, publish_key, segments_key
from hub.config import load_settings
from hub.definitions import PIPELINE_JOB, build_definitions

GOLDEN_ASSETS = ["source_records", "match_pairs", "customer_xref", "golden_customer"]
CONSENT_ASSETS = ["consent_events", "consent_state"]
SEGMENTS_ASSETS = ["customer_metrics", "segment_membership", "audiences"]
SEGMENTS_CHECKS = {
    ("customer_metrics", "revenue_reconciles"),
    ("segment_membership", "sizes_steady"),
    ("audiences", "only_those_who_may_be_contacted"),
}
LANDING_TABLES = [
    "erp_customer",
    "erp_invoice",
    "esp_campaign",
    "esp_email_activity",
    "esp_member",
    "loyalty_member",
    "loyalty_purchase",
    "webshop_customer",
    "webshop_order",
]


def test_definitions_load_with_every_landing_asset_and_its_checks(tmp_path):
    defs = build_definitions(load_settings({"HUB_HOME": str(tmp_path)}))
    Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    golden = [golden_key(n) for n in GOLDEN_ASSETS]
    assert sorted(graph.get_all_asset_keys()) == sorted(
        [landing_key(t) for t in LANDING_TABLES]
        + golden
        + [consent_key(n) for n in CONSENT_ASSETS]
        + [access_key("role_views")]
        + [segments_key(n) for n in SEGMENTS_ASSETS]
        + [publish_key("deliveries")]
    )
    checks = {(k.asset_key.path[-1], k.name) for k in graph.asset_check_keys}
    landing = {(t, c) for t in LANDING_TABLES for c in ("rows_accounted_for", "columns_match_contract")}
    assert checks == landing | SEGMENTS_CHECKS
    blocking = {(k.asset_key.path[-1], k.name) for k in graph.asset_check_keys if graph.get_check_spec(k).blocking}
    assert blocking >= SEGMENTS_CHECKS, "a failed segment check stops publishing"
    assert graph.get(publish_key("deliveries")).parent_keys == {segments_key("audiences")}
    assert defs.resolve_job_def(PIPELINE_JOB).name == PIPELINE_JOB
    assert defs.resolve_schedule_def("daily_hub_pipeline").cron_schedule == "0 3 * * *"


def test_the_workspace_file_names_loadable_definitions():
    """What `make dagster` (and `dagster definitions validate -w workspace.yaml`) loads: every code location's
    module and attribute exist and hold definitions Dagster accepts."""
    workspace = yaml.safe_load((Path(__file__).parents[1] / "workspace.yaml").read_text())
    locations = [entry["python_module"] for entry in workspace["load_from"]]
    assert locations
    for location in locations:
        defs = getattr(importlib.import_module(location["module_name"]), location["attribute"])
        assert isinstance(defs, Definitions)
        Definitions.validate_loadable(defs)


def test_loyalty_sensor_asks_for_a_run_once_per_new_drop(simulator, tmp_path, make_settings):
    settings = make_settings(simulator, f"duckdb:///{tmp_path / 'hub.duckdb'}", tmp_path)
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("loyalty_drop_sensor")
    first = sensor.evaluate_tick(build_sensor_context(cursor=None, definitions=defs))
    assert len(first.run_requests) == 1 and isinstance(first.run_requests[0], RunRequest)
    again = sensor.evaluate_tick(build_sensor_context(cursor=first.cursor, definitions=defs))
    assert again.run_requests == [] and again.skip_message
