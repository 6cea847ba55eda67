"""The hub's database: one SQLAlchemy URL, DuckDB by default and PostgreSQL in production.

dlt lands data through its own destinations (the native DuckDB Parquet reader and dlt's batched
INSERT statements on PostgreSQL are far faster than row inserts through SQLAlchemy), so the same URL is translated here
into a dlt destination as well. dlt and Alembic are imported where they are used: together they take
about a second to import, and a data-subject request or an API server needs neither once the schema is
up to date.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from hub.config import ConfigurationError
from hub.postgres_copy import copy_frame, copy_in

LANDING_SCHEMA = "landing"
HUB_SCHEMA = "mdm"
ACCESS_SCHEMA_PREFIX = "access_"  # one schema of views per access role
MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(url: str) -> URL:
    """The parsed hub database URL; a configuration error naming the variable (never the URL) if it is not one."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigurationError("HUB_DATABASE_URL is not a SQLAlchemy database URL") from None
    if parsed.get_backend_name() not in ("duckdb", "postgresql"):
        raise ConfigurationError(
            f"HUB_DATABASE_URL names a {parsed.get_backend_name()!r} database; the hub runs on duckdb or postgresql"
        )
    return parsed


def is_duckdb(url: str) -> bool:
    return database_url(url).get_backend_name() == "duckdb"


@lru_cache(maxsize=8)
def engine(url: str) -> sa.Engine:
    """One engine per URL for the process; DuckDB files allow a single writer process.

    ``hide_parameters`` keeps personal data out of SQL error messages.
    """
    parsed = database_url(url)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(parsed.set(drivername="postgresql+psycopg"), pool_pre_ping=True, hide_parameters=True)
    return sa.create_engine(parsed, poolclass=sa.pool.NullPool, hide_parameters=True)


# What DuckDB may hold in memory while a run keeps the database open: the data it caches between steps and
# each query's working memory (beyond it a sort spills to disk, a result too large to collect fails), so that
# the process stays within the run's budget (issue 13: 6 GB). 1 GB could not collect every customer's records
# at 400,000 persons; a hub on DuckDB much larger than that belongs on PostgreSQL (docs/deploy.md).
KEPT_OPEN_MEMORY = "2GB"


@contextmanager
def kept_open(url: str) -> Iterator[None]:
    """On a DuckDB file, one connection held open for the block: the connections the block opens and closes
    then join the open database (a millisecond) instead of opening the file (tens of milliseconds at a
    million records) and checkpointing it when the last one closes (seconds: each step of a run paid it
    once, an access request a dozen times). The checkpoint happens once, at the end. On PostgreSQL the
    engine's pool already keeps connections, and this does nothing."""
    if not is_duckdb(url) or database_url(url).database in (None, "", ":memory:"):
        yield
        return
    connection = engine(url).connect()
    connection.exec_driver_sql(f"SET memory_limit = '{KEPT_OPEN_MEMORY}'")  # its cache would otherwise stay and grow
    try:
        yield
    finally:
        connection.close()


def serving_engine(url: str, connections: int, *, reading: bool = False) -> sa.Engine:
    """An engine of its own for a server answering many requests at once: up to ``connections`` kept open.

    ``engine`` opens an embedded DuckDB file for every use (NullPool), so that other processes can open it
    between uses; that costs tens of milliseconds a request and holds one request at a time. A server keeps
    the database open instead: DuckDB serves any number of connections to one database instance in one
    process, reading in parallel. While the server runs, no other process can open the file; the caller
    disposes of the engine when it stops. Connections the rest of the process opens through ``engine``
    meanwhile join the same instance.

    ``reading``: the engine only reads, one statement at a time. On PostgreSQL its statements then run in
    autocommit, which spares the BEGIN and the ROLLBACK around every use of a connection (two round trips).
    """
    parsed = database_url(url)
    pool = {"pool_size": connections, "max_overflow": 0, "hide_parameters": True}
    if parsed.get_backend_name() == "postgresql":
        postgres = parsed.set(drivername="postgresql+psycopg")
        autocommit = {"isolation_level": "AUTOCOMMIT"} if reading else {}
        return sa.create_engine(postgres, pool_pre_ping=True, **autocommit, **pool)
    return sa.create_engine(parsed, **pool)


def dlt_destination(url: str):
    """The dlt destination writing into the same database as ``engine(url)``."""
    import dlt
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    parsed = database_url(url)
    if parsed.get_backend_name() == "duckdb":
        from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

        # dlt joins the database a run holds open (``kept_open``), which DuckDB allows only to a connection of
        # the same configuration: the one difference is the client's name, so dlt's is made the engine's.
        agent = {"custom_user_agent": _engine_user_agent()}
        return dlt.destinations.duckdb(credentials=DuckDbCredentials(parsed.database, global_config=agent))
    credentials = PostgresCredentials()
    credentials.parse_native_representation(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
    credentials.password = credentials.password or ""  # trust or peer auth needs none
    return dlt.destinations.postgres(credentials=credentials)


@lru_cache(maxsize=1)
def _engine_user_agent() -> str:
    """The client name SQLAlchemy's DuckDB driver gives its connections, read from one of them."""
    with sa.create_engine("duckdb:///:memory:", poolclass=sa.pool.NullPool).connect() as connection:
        return connection.exec_driver_sql("SELECT current_setting('custom_user_agent')").scalar()


def loader_file_format(url: str) -> str | None:
    """DuckDB loads Parquet files natively, many times faster than dlt's default INSERT statements."""
    return "parquet" if is_duckdb(url) else None


def table_columns(connection: sa.Connection, schema: str, table: str) -> set[str]:
    """Column names of a table (empty if it does not exist), from the portable information schema."""
    rows = connection.execute(
        sa.text("SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t"),
        {"s": schema, "t": table},
    )
    return {r[0] for r in rows}


def table_exists(connection: sa.Connection, schema: str, table: str) -> bool:
    return bool(table_columns(connection, schema, table))


def existing_tables(connection: sa.Connection) -> frozenset[str]:
    """Every ``schema.table`` of the hub's own and the landing schema, in one question: a request that walks
    thirty holdings asks once rather than thirty times (each costs milliseconds on DuckDB)."""
    rows = connection.execute(
        sa.text("SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN (:h, :l)"),
        {"h": HUB_SCHEMA, "l": LANDING_SCHEMA},
    )
    return frozenset(f"{schema}.{table}" for schema, table in rows)


def describe(url: str) -> str:
    """The URL without its password, fit for a log line."""
    return database_url(url).render_as_string(hide_password=True)


def migrate(url: str) -> None:
    """Bring the hub's own schema up to date (Alembic); safe to call before every run.

    The roles' views are dropped before an upgrade (PostgreSQL will not alter a column a view reads);
    the pipeline's access step creates them again. A database already at the newest revision is told
    without Alembic (``newest_revision``).
    """
    with engine(url).begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {HUB_SCHEMA}"))
        if table_exists(connection, HUB_SCHEMA, "alembic_version"):
            current = connection.execute(sa.text(f"SELECT max(version_num) FROM {HUB_SCHEMA}.alembic_version"))
            if current.scalar() == newest_revision():
                return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", url)
        views = connection.execute(
            sa.text("SELECT table_schema, table_name FROM information_schema.views WHERE table_schema LIKE :prefix"),
            {"prefix": f"{ACCESS_SCHEMA_PREFIX}%"},
        ).all()
        for schema, view in views:
            connection.execute(sa.text(f'DROP VIEW IF EXISTS "{schema}"."{view}" CASCADE'))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def newest_revision() -> str:
    """The head revision, from the migrations' file names: each starts with its revision, and each revises
    the one before (``tests/test_schema.py`` checks that this is Alembic's own head)."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


_CONSTANTS_INLINE = {"render_postcompile": True}  # writes ``constant`` values into the text; binds the rest


def constant(value: str | int) -> sa.BindParameter:
    """A value of the hub's own (a system's name, a purpose, a key prefix) written into a statement's text rather
    than bound, so that ``read_frame`` can still send the result through COPY, which takes no parameters. Never
    for a value a request or a record brought: those stay parameters, out of the text and the server's logs."""
    return sa.literal(value, literal_execute=True)


def read_frame(connection: sa.Connection, query: str | sa.Executable, **params) -> pd.DataFrame:
    """A whole query result as a frame; ``query`` is SQL text or a Core statement over ``hub.schema``.

    Without parameters (``constant`` values are none) DuckDB hands its columns over natively and PostgreSQL
    sends them through COPY (``hub.postgres_copy``), without building Python rows: at a million records that
    is seconds against minutes.
    """
    statement = sa.text(query) if isinstance(query, str) else query
    compiled = None if params else statement.compile(dialect=connection.dialect, compile_kwargs=_CONSTANTS_INLINE)
    if compiled is not None and not compiled.params:
        if connection.dialect.name == "duckdb":
            return connection.connection.driver_connection.execute(str(compiled)).df()
        copied = copy_frame(connection, str(compiled))
        if copied is not None:
            return copied
    result = connection.execute(statement, params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def replace_row(connection: sa.Connection, table: sa.Table, key: dict[str, Any], values: dict[str, Any]) -> None:
    """Write one row of ``table`` (of ``hub.schema``) by its key, replacing any row with the same key.

    Delete-then-insert rather than an upsert statement, which DuckDB and PostgreSQL spell differently.
    """
    connection.execute(sa.delete(table).where(*(table.c[name] == value for name, value in key.items())))
    connection.execute(sa.insert(table).values({**key, **values}))


def insert_frame(connection: sa.Connection, table: str, frame: pd.DataFrame, schema: str | None = HUB_SCHEMA) -> None:
    """Bulk-insert ``frame`` (columns named as the table's) inside the caller's transaction.

    DuckDB reads the frame in place; PostgreSQL gets it through COPY. Row-by-row INSERTs through
    SQLAlchemy would take minutes at a million rows. ``schema=None`` names a temporary table (a stage that
    the next statements join against): PostgreSQL's autovacuum never analyses those, and without their size
    its planner walked a whole index instead of hashing them (12,000 customers against 2.8 million lineage
    rows: 3.4 s, analysed 0.8 s), so they are analysed here.
    """
    if frame.empty:
        return
    target = f"{schema}.{table}" if schema else table
    raw = connection.connection.driver_connection
    if connection.dialect.name == "duckdb":
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        raw.register("_hub_frame", frame)
        try:
            raw.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM _hub_frame")
        finally:
            raw.unregister("_hub_frame")
        return
    copy_in(raw, target, frame)
    if schema is None:
        raw.execute(f"ANALYZE {target}")


def write_differences(
    connection: sa.Connection,
    table: sa.Table,
    frame: pd.DataFrame,
    unchanged_by: tuple[str, ...] = (),
    refreshed: tuple[str, ...] = (),
) -> tuple[int, int]:
    """Make ``table`` hold the rows of ``frame`` by writing only what differs; (rows deleted, rows inserted).

    Rows whose key is gone or whose values changed are deleted, new and changed rows inserted; a row that is
    the same is not touched, so a column in ``unchanged_by`` (e.g. ``updated_at``) keeps its old value. A run
    after a day's changes rewrites about one row in a hundred, and deleting every row of a keyed table is
    what costs: on DuckDB it takes twenty times the insert (each key leaves its index one by one), on
    PostgreSQL it leaves a dead row per row. The comparison runs in the database against ``frame`` staged in
    a temporary table of the target's column types, so values are compared as stored: a join on the key,
    which both stores hash, rather than a set difference of whole rows, which PostgreSQL sorts on disk beyond
    its ``work_mem`` (two million rows: 14 s against 4 s). A column in ``refreshed`` (bookkeeping, such as a
    digest of the row's sources) is not compared but set where it differs.
    """
    if connection.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is None:
        insert_frame(connection, table.name, frame, schema=table.schema)  # a first run: nothing to compare
        return 0, len(frame)
    keys = [c.name for c in table.primary_key.columns]
    compared = [c for c in frame.columns if c not in (*unchanged_by, *refreshed)]
    target = f"{table.schema}.{table.name}"
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    stage = _stage(connection, "_hub_differences", frame, target)
    same_key = " AND ".join(f't."{k}" = d."{k}"' for k in keys)
    deleted = connection.exec_driver_sql(
        f"DELETE FROM {target} t WHERE NOT EXISTS (SELECT 1 FROM {stage} d WHERE {same_key})"
    ).rowcount
    differ = " OR ".join(f't."{c}" IS DISTINCT FROM d."{c}"' for c in compared if c not in keys)
    if differ:
        deleted += connection.exec_driver_sql(
            f"DELETE FROM {target} t USING {stage} d WHERE {same_key} AND ({differ})"
        ).rowcount
    inserted = connection.exec_driver_sql(
        f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage} d "
        f"WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {same_key})"
    ).rowcount
    if refreshed:
        differ = " OR ".join(f't."{c}" IS DISTINCT FROM d."{c}"' for c in refreshed)
        values = ", ".join(f'"{c}" = d."{c}"' for c in refreshed)
        connection.exec_driver_sql(f"UPDATE {target} t SET {values} FROM {stage} d WHERE {same_key} AND ({differ})")
    connection.exec_driver_sql(f"DROP TABLE {stage}")
    return deleted, inserted


def write_changes(
    connection: sa.Connection,
    table: sa.Table,
    changed: pd.DataFrame,
    gone: list,
    key: str | tuple[str, ...] | None = None,
    unchanged_by: tuple[str, ...] = (),
    refreshed: tuple[str, ...] = (),
) -> None:
    """Replace the rows whose ``key`` (by default the table's primary key; a column or a tuple of columns) is
    in ``changed`` or ``gone`` (key values, as tuples for a key of several columns) by the rows of ``changed``;
    every other row stays untouched. For a step that knows what changed, so that it need not compare every
    row. A column in ``unchanged_by`` keeps its stored value in a row whose other values (but those
    ``refreshed``, as in ``write_differences``) are the same as stored."""
    keys = [key] if isinstance(key, str) else list(key or (c.name for c in table.primary_key.columns))
    target = f"{table.schema}.{table.name}"
    replaced = pd.concat([pd.DataFrame(list(gone), columns=keys), changed[keys]]).drop_duplicates()
    if not changed.empty:
        staged = _stage(connection, "_hub_changed", changed, target)
        if unchanged_by:  # before the stored rows go
            kept = ", ".join(f'"{c}" = t."{c}"' for c in unchanged_by)
            compared = [c for c in changed.columns if c not in (*unchanged_by, *refreshed, *keys)]
            # the key by equality: PostgreSQL cannot hash-join on IS NOT DISTINCT FROM, and went row by row
            same = " AND ".join(
                [f'{staged}."{k}" = t."{k}"' for k in keys]
                + [f'{staged}."{c}" IS NOT DISTINCT FROM t."{c}"' for c in compared]
            )
            connection.exec_driver_sql(f"UPDATE {staged} SET {kept} FROM {target} t WHERE {same}")
    if not replaced.empty:
        doomed = _stage(connection, "_hub_replaced", replaced, target)
        same_key = " AND ".join(f't."{k}" = d."{k}"' for k in keys)
        connection.exec_driver_sql(f"DELETE FROM {target} t USING {doomed} d WHERE {same_key}")
        connection.exec_driver_sql(f"DROP TABLE {doomed}")
    if not changed.empty:
        listed = ", ".join(f'"{c}"' for c in changed.columns)
        connection.exec_driver_sql(f"INSERT INTO {target} ({listed}) SELECT {listed} FROM {staged}")
        connection.exec_driver_sql(f"DROP TABLE {staged}")


def _stage(connection: sa.Connection, name: str, frame: pd.DataFrame, target: str) -> str:
    """``frame`` in a new temporary table ``name`` with the column types of the same columns of ``target``
    (so that values compare as stored); its name."""
    listed = ", ".join(f'"{c}"' for c in frame.columns)
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} AS SELECT {listed} FROM {target} LIMIT 0")
    insert_frame(connection, name, frame, schema=None)
    return name
