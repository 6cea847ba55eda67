"""The hub's tables are described once (``hub/schema.py``); the migrations must build exactly that.

On PostgreSQL Alembic's autogenerate compares the migrated database with the description. The DuckDB
dialect cannot reflect columns under SQLAlchemy 2.1, so there the migrated database is compared with
one that ``create_all`` built from the description, column by column in the information schema and
index by index in DuckDB's catalogue.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from hub import schema, storage


def _columns(url: str) -> set[tuple]:
    with storage.engine(url).connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
                "WHERE table_schema = :s AND table_name <> 'alembic_version'"
            ),
            {"s": schema.SCHEMA},
        )
        columns = set(map(tuple, rows))
        indexes = connection.execute(
            sa.text("SELECT table_name, index_name, expressions FROM duckdb_indexes() WHERE schema_name = :s"),
            {"s": schema.SCHEMA},
        )
        return columns | {("index", *map(str, row)) for row in indexes}


def _alembic_head() -> str:
    config = Config()
    config.set_main_option("script_location", str(storage.MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def differences(url: str, metadata: sa.MetaData, scratch: Path) -> list:
    """What would have to change in the migrated database for it to be ``metadata``; empty if nothing."""
    storage.migrate(url)
    assert storage.newest_revision() == _alembic_head()
    if storage.is_duckdb(url):
        described = f"duckdb:///{scratch / 'described.duckdb'}"
        with storage.engine(described).begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema.SCHEMA}"))
            metadata.create_all(connection)
        migrated, wanted = _columns(url), _columns(described)
        return sorted(("missing", c) for c in wanted - migrated) + sorted(("unwanted", c) for c in migrated - wanted)
    with storage.engine(url).connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_schemas": True, "include_name": schema.only_the_hubs_tables, "compare_type": True},
        )
        return compare_metadata(context, metadata)


def _copy_of_the_description() -> sa.MetaData:
    """``hub.schema``'s tables in a MetaData of their own, with each index's "only on this store" kept
    (``to_metadata`` leaves it behind)."""
    copy = sa.MetaData(schema=schema.SCHEMA)
    for table in schema.metadata.tables.values():
        copied = {index.name: index for index in table.to_metadata(copy).indexes}
        for index in table.indexes:
            if index._ddl_if is not None:
                copied[index.name].ddl_if(dialect=index._ddl_if.dialect)
    return copy


def test_the_migrated_database_is_the_described_one(database_url: str, tmp_path: Path):
    assert differences(database_url, schema.metadata, tmp_path) == []


def test_a_column_the_migrations_do_not_make_is_found(database_url: str, tmp_path: Path):
    changed = _copy_of_the_description()
    changed.tables[f"{schema.SCHEMA}.golden_customer"].append_column(sa.Column("nickname", sa.String))
    found = differences(database_url, changed, tmp_path)
    assert len(found) == 1 and "nickname" in str(found[0])


def test_an_index_the_migrations_do_not_make_is_found(database_url: str, tmp_path: Path):
    """The request paths' indexes (finding a person by email) are part of what must agree."""
    changed = _copy_of_the_description()
    records = changed.tables[f"{schema.SCHEMA}.source_record"]
    sa.Index("source_record_city", records.c.city)
    found = differences(database_url, changed, tmp_path)
    assert len(found) == 1 and "source_record_city" in str(found[0])


def test_finding_a_person_by_email_or_phone_has_its_indexes(database_url: str):
    storage.migrate(database_url)
    with storage.engine(database_url).connect() as connection:
        if storage.is_duckdb(database_url):
            sql = "SELECT index_name FROM duckdb_indexes() WHERE schema_name = :s AND table_name = 'source_record'"
        else:
            sql = "SELECT indexname FROM pg_indexes WHERE schemaname = :s AND tablename = 'source_record'"
        names = set(connection.execute(sa.text(sql), {"s": schema.SCHEMA}).scalars())
    assert {"source_record_email", "source_record_phone"} <= names


def test_customer_metrics_survive_the_upgrade_that_drops_their_key(database_url: str):
    """Revision 0008 rebuilds the two metrics tables keyless; the rows a hub had computed stay."""
    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(storage.MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    with storage.engine(database_url).begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema.SCHEMA}"))
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
        connection.execute(
            sa.text(
                f"INSERT INTO {schema.SCHEMA}.customer_metrics (customer_id, orders_total, orders_12m, "
                "revenue_total_eur, revenue_12m_eur, returns_eur, channels, rfm_segment, lifecycle_stage, abc_class, "
                "churn_signals, expected_orders_12m, expected_revenue_12m_eur, as_of, computed_at) VALUES "
                "('C1', 2, 1, 10, 5, 0, 'erp', 'loyal', 'active', 'A', '', 1.5, 7.5, '2026-11-01', '2026-11-01')"
            )
        )
    storage.migrate(database_url)
    with storage.engine(database_url).connect() as connection:
        kept = connection.execute(
            sa.select(schema.customer_metrics.c.customer_id, schema.customer_metrics.c.orders_total)
        )
        assert kept.all() == [("C1", 2)]
