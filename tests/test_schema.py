"""The hub's tables are described once (``hub/schema.py``); the migrations must build exactly that.

On PostgreSQL Alembic's autogenerate compares the migrated database with the description. The DuckDB
dialect cannot reflect columns under SQLAlchemy 2.1, so there the migrated database is compared with
one that ``create_all`` built from the description, column by column in the information schema.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
        return set(map(tuple, rows))


def differences(url: str, metadata: sa.MetaData, scratch: Path) -> list:
    """What would have to change in the migrated database for it to be ``metadata``; empty if nothing."""
    storage.migrate(url)
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


def test_the_migrated_database_is_the_described_one(database_url: str, tmp_path: Path):
    assert differences(database_url, schema.metadata, tmp_path) == []


def test_a_column_the_migrations_do_not_make_is_found(database_url: str, tmp_path: Path):
    changed = sa.MetaData(schema=schema.SCHEMA)
    for table in schema.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables[f"{schema.SCHEMA}.golden_customer"].append_column(sa.Column("nickname", sa.String))
    found = differences(database_url, changed, tmp_path)
    assert len(found) == 1 and "nickname" in str(found[0])
