"""Alembic environment: the hub's own tables (schema ``mdm``) on DuckDB or PostgreSQL.

The landing schema belongs to dlt, which evolves it itself; everything the hub computes lives in
the ``mdm`` schema, is described in ``hub/schema.py`` and changes only through these migrations.
Autogenerate compares that description with the database, the ``mdm`` schema alone.
"""

from alembic import context
from alembic.ddl.postgresql import PostgresqlImpl

from hub import schema, storage


class DuckDBImpl(PostgresqlImpl):
    """DuckDB speaks PostgreSQL's DDL closely enough for the hub's migrations."""

    __dialect__ = "duckdb"
    transactional_ddl = True


def run_migrations() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        with storage.engine(config.get_main_option("sqlalchemy.url")).connect() as connection:
            _run(connection)
            connection.commit()
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=schema.metadata,
        include_schemas=True,
        include_name=schema.only_the_hubs_tables,
        compare_type=True,
        version_table="alembic_version",
        version_table_schema=storage.HUB_SCHEMA,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
