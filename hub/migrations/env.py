"""Alembic environment: the hub's own tables (schema ``hub``) on DuckDB or PostgreSQL.

The landing schema belongs to dlt, which evolves it itself; everything the hub computes lives in
the ``mdm`` schema and changes only through these migrations.
"""

from alembic import context
from alembic.ddl.postgresql import PostgresqlImpl

from hub import storage


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
    context.configure(connection=connection, version_table="alembic_version", version_table_schema=storage.HUB_SCHEMA)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
