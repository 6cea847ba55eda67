"""Dagster definitions of the landing area: one asset per landed table, their checks, automation.

The asset functions run the dlt sources of ``sources/`` through dagster-dlt; the sources are built
twice: once with placeholders so that Dagster knows the asset graph without touching any system,
and once per run with the configured connection settings.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    Config,
    Definitions,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    asset_check,
    sensor,
)
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData
from dlt import Pipeline
from dlt.extract.source import DltSource

from hub import storage
from hub.asset_keys import LANDING_GROUP, landing_key
from hub.config import Settings
from hub.gdpr.suppression import load_suppression
from hub.landed import HeldRows, ensure_lookup_indexes
from hub.ledger import account, latest_load_id
from hub.resources import HubDatabase, SourceSystems, landing_pipeline
from quality.tables import landed_table, landed_tables
from sources.erp import erp
from sources.esp import esp
from sources.landing import Screen
from sources.loyalty import list_drops, loyalty
from sources.webshop import webshop


@dataclass(frozen=True)
class LandedSystem:
    """A system and how to build its dlt source from the connection settings."""

    name: str
    build: Callable[[SourceSystems, Screen], DltSource]
    placeholder: Callable[[], DltSource]


SYSTEMS = (
    LandedSystem(
        "erp",
        lambda s, held: erp(credentials=s.erp_url, screen=held),
        lambda: erp(credentials="sqlite://"),
    ),
    LandedSystem(
        "webshop",
        lambda s, held: webshop(
            base_url=s.webshop_url, consumer_key=s.webshop_key, consumer_secret=s.webshop_secret, screen=held
        ),
        lambda: webshop(base_url="http://webshop.invalid", consumer_key="-", consumer_secret="-"),
    ),
    LandedSystem(
        "loyalty",
        lambda s, held: loyalty(location=s.loyalty_dir, screen=held),
        lambda: loyalty(location="."),
    ),
    LandedSystem(
        "esp",
        lambda s, held: esp(base_url=s.esp_url, api_key=s.esp_key, list_id=s.esp_list_id, screen=held),
        lambda: esp(base_url="http://esp.invalid/3.0", api_key="-", list_id="-"),
    ),
)


class LandingConfig(Config):
    """``full_reload`` forgets the system's cursors (and the loyalty files already read) and reads
    everything again; rows still merge on their keys, so nothing is doubled and nothing is lost."""

    full_reload: bool = False


class LandingTranslator(DagsterDltTranslator):
    """Asset ``landing/<table>`` per landed table, with no upstream placeholders."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        table = data.resource.name
        model = landed_table(table).model
        return (
            super()
            .get_asset_spec(data)
            .replace_attributes(
                key=landing_key(table),
                deps=[],
                group_name=LANDING_GROUP,
                description=f"Rows of {data.resource.source_name} validated against {model.__name__}.",
            )
        )


def _system_assets(system: LandedSystem, settings: Settings) -> AssetsDefinition:
    @dlt_assets(
        dlt_source=system.placeholder(),
        dlt_pipeline=landing_pipeline(system.name, settings.database_url, settings.state_dir),
        name=f"land_{system.name}",
        dagster_dlt_translator=LandingTranslator(),
    )
    def land(
        context: AssetExecutionContext,
        config: LandingConfig,
        dlt: DagsterDltResource,
        database: HubDatabase,
        systems: SourceSystems,
    ) -> Iterator:
        with database.engine().connect() as connection:
            suppression = load_suppression(connection, database.key())
        landed = HeldRows(database.engine())
        held = Screen(suppression.screen_rows, suppression.holds_raw, landed) if suppression else Screen(landed=landed)
        pipeline = database.dlt_pipeline(system.name)
        if config.full_reload:
            forget_cursors(pipeline, system.name)
        yield from dlt.run(
            context=context,
            dlt_source=system.build(systems, held),
            dlt_pipeline=pipeline,
            loader_file_format=storage.loader_file_format(database.url),
        )
        with database.engine().begin() as connection:
            ensure_lookup_indexes(connection, [t for t in landed_tables() if t.system == system.name])

    return land


def forget_cursors(pipeline: Pipeline, source: str) -> None:
    """Drop a source's incremental state, in the destination too: dagster-dlt restores it from there."""
    pipeline.drop_pending_packages()  # only the reset state goes to the destination
    pipeline.sync_destination()
    with pipeline.managed_state(extract_state=True) as state:
        state.get("sources", {}).pop(source, None)
    pipeline.normalize()
    pipeline.load()


def _accounting_check(system: str, table: str) -> AssetChecksDefinition:
    @asset_check(
        asset=landing_key(table),
        name="rows_accounted_for",
        blocking=True,
        description=(
            "Rows read = landed + quarantined (+ superseded copies + an erased person's rows + rows already "
            "held as read), last load."
        ),
    )
    def check(database: HubDatabase) -> AssetCheckResult:
        with database.engine().connect() as connection:
            load_id = latest_load_id(connection, system)
            if load_id is None:
                return AssetCheckResult(passed=False, metadata={"reason": "no completed load"})
            result = account(connection, system, table, load_id)
        return AssetCheckResult(
            passed=result.balanced,
            metadata={
                "load_id": load_id,
                "rows_read": result.read,
                "rows_landed": result.landed,
                "rows_quarantined": result.quarantined,
                "rows_superseded": result.superseded,
                "rows_suppressed": result.suppressed,
                "rows_unchanged": result.unchanged,
            },
        )

    return check


def _schema_check(table: str) -> AssetChecksDefinition:
    expected = set(landed_table(table).model.to_schema().columns)

    @asset_check(
        asset=landing_key(table),
        name="columns_match_contract",
        description="Every column of the contract's model exists in the landing table.",
    )
    def check(database: HubDatabase) -> AssetCheckResult:
        with database.engine().connect() as connection:
            present = storage.table_columns(connection, storage.LANDING_SCHEMA, table)
        missing = sorted(expected - present)
        return AssetCheckResult(
            passed=not missing,
            severity=AssetCheckSeverity.ERROR if not present else AssetCheckSeverity.WARN,
            metadata={"missing_columns": ", ".join(missing) or "none"},
        )

    return check


def _loyalty_drop_sensor(selection: AssetSelection, settings: Settings):
    @sensor(
        name="loyalty_drop_sensor",
        asset_selection=selection,
        minimum_interval_seconds=300,
        description="Lands the loyalty programme as soon as the vendor drops a new file.",
    )
    def loyalty_drop(context: SensorEvaluationContext):
        location = settings.loyalty_dir
        if not location:
            return SkipReason("HUB_LOYALTY_DIR is not configured")
        names = [path.rsplit("/", 1)[-1] for path in list_drops(location)]
        newest = max(names, default="")
        if newest <= (context.cursor or ""):
            return SkipReason("no new loyalty file")
        context.update_cursor(newest)
        return RunRequest(run_key=newest)

    return loyalty_drop


def ingest_definitions(settings: Settings) -> Definitions:
    assets = [_system_assets(system, settings) for system in SYSTEMS]
    checks = []
    for system in SYSTEMS:
        for table in system.placeholder().resources:
            checks += [_accounting_check(system.name, table), _schema_check(table)]
    loyalty_tables = AssetSelection.assets(
        *(landing_key(t) for t in next(s for s in SYSTEMS if s.name == "loyalty").placeholder().resources)
    )
    return Definitions(
        assets=assets,
        asset_checks=checks,
        sensors=[_loyalty_drop_sensor(loyalty_tables, settings)],
        resources={"dlt": DagsterDltResource()},
    )
