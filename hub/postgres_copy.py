"""Frames to and from PostgreSQL through COPY, as fast as DuckDB hands its columns over or reads a frame in place.

Reading: fetching rows makes a Python tuple per row and a Python object per value: at two million rows of
consent decisions that is about 20 s, most of an incremental step. ``COPY (query) TO STDOUT`` sends the same
result as CSV, which pyarrow parses column by column; each column is then given the type psycopg would
have given it, so a caller cannot tell the two paths apart (``tests/test_postgres_copy.py`` holds them
equal). A result with a column of any other type is left to the row path (``None``).

Writing: handing psycopg one row at a time converted every value to a Python object first (a timestamp
column alone to a million ``Timestamp`` objects); pyarrow writes the frame as CSV column by column instead,
and a frame with a column it cannot write so that PostgreSQL reads back the same value goes row by row.
"""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from pyarrow import csv

# PostgreSQL type OIDs by what the CSV text of a value becomes.
TEXT = frozenset({25, 1043, 1042, 19})  # text, varchar, char, name
BOOLEAN = frozenset({16})
INTEGER = frozenset({20, 21, 23})  # bigint, smallint, integer
FLOAT = frozenset({700, 701})  # real, double precision
DATE = frozenset({1082})
TIMESTAMP = frozenset({1114})  # without time zone
TIMESTAMPTZ = frozenset({1184})
COPIED = TEXT | BOOLEAN | INTEGER | FLOAT | DATE | TIMESTAMP | TIMESTAMPTZ


def copy_in(driver, target: str, frame: pd.DataFrame) -> None:
    """Append the rows of ``frame`` (columns named as ``target``'s) to the table ``target`` through COPY, in the
    transaction of the psycopg connection ``driver``."""
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    batches = _csv_batches(frame)
    with driver.cursor() as cursor:
        if batches is None:
            rows = frame.astype(object).where(frame.notna(), None)
            with cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
                for row in rows.itertuples(index=False, name=None):
                    copy.write_row(row)
            return
        with cursor.copy(f"COPY {target} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
            for batch in batches:
                text = io.BytesIO()
                # Every value quoted, NULL left empty: COPY reads an empty quoted field as the empty string and
                # an unquoted one as NULL, so the two stay apart.
                csv.write_csv(batch, text, csv.WriteOptions(include_header=False, quoting_style="all_valid"))
                copy.write(text.getbuffer())


def _csv_batches(frame: pd.DataFrame, rows: int = 100_000) -> list[pa.RecordBatch] | None:
    """``frame`` as record batches whose CSV text PostgreSQL reads as the values the row path sends, or None
    when a column is of another kind (binary, nested, categorical, mixed Python objects)."""
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if not all(_writes_as_text(field.type) for field in table.schema):
        return None
    for position, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):  # microseconds, cut as the row path cuts them, not rounded
            table = table.set_column(
                position, field.name, table.column(position).cast(pa.timestamp("us", field.type.tz), safe=False)
            )
    return table.to_batches(max_chunksize=rows)


def _writes_as_text(kind: pa.DataType) -> bool:
    return any(
        test(kind)
        for test in (
            pa.types.is_string,
            pa.types.is_large_string,
            pa.types.is_integer,
            pa.types.is_floating,
            pa.types.is_boolean,
            pa.types.is_date32,
            pa.types.is_timestamp,
            pa.types.is_null,
        )
    )


def copy_frame(connection: sa.Connection, sql: str) -> pd.DataFrame | None:
    """The result of ``sql`` (compiled for PostgreSQL, without parameters) as ``read_frame`` would give it, or
    None when a column's type is not one this reads (or two columns share a name): the caller then fetches
    rows. Errors are SQLAlchemy's, as on the row path."""
    import psycopg  # here: an embedded hub's commands need not load the PostgreSQL driver

    result = connection.exec_driver_sql(f"SELECT * FROM ({sql}) AS result LIMIT 0")
    description = result.cursor.description
    result.close()
    names = [d.name for d in description]
    types = [d.type_code for d in description]
    if not names or not set(types) <= COPIED or len(set(names)) < len(names):
        return None
    # The compiled text has every literal % doubled for the driver's placeholders; COPY takes none, so it
    # gets the text as written.
    copied = f"COPY ({sql.replace('%%', '%')}) TO STDOUT WITH (FORMAT csv)"
    buffer = io.BytesIO()
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(copied) as copy:
            for chunk in copy:
                buffer.write(chunk)
    except psycopg.Error as error:
        raise sa.exc.DBAPIError.instance(copied, None, error, psycopg.Error, dialect=connection.dialect) from None
    if buffer.tell() == 0:
        return pd.DataFrame(columns=names)
    buffer.seek(0)
    try:
        return _parsed(buffer, names, types, driver.info.timezone)
    except (pa.ArrowInvalid, ValueError, OverflowError):
        return None  # a value out of the frame's range (a year 1 timestamp, a date BC): the rows keep it


def _arrow_type(oid: int) -> pa.DataType:
    """What pyarrow parses a column of this PostgreSQL type as (text for the text types)."""
    if oid in INTEGER:
        return pa.int64()
    if oid in FLOAT:
        return pa.float64()  # reads NaN, Infinity and -Infinity as PostgreSQL writes them
    if oid in BOOLEAN:
        return pa.bool_()
    if oid in DATE:
        return pa.date32()
    if oid in TIMESTAMP:
        return pa.timestamp("us")
    if oid in TIMESTAMPTZ:
        return pa.timestamp("us", tz="UTC")  # COPY writes the offset (+00, +02): the instant is exact
    return pa.string()


def _parsed(buffer: io.BytesIO, names: list[str], types: list[int], zone) -> pd.DataFrame:
    """The CSV parsed by pyarrow column by column into each column's own type: converting text in pandas
    afterwards took most of a read (a timestamp column of 350,000 rows 0.7 s of a 2 s read)."""
    positions = [f"c{i}" for i in range(len(names))]
    table = csv.read_csv(
        buffer,
        read_options=csv.ReadOptions(column_names=positions),
        parse_options=csv.ParseOptions(newlines_in_values=True),
        # COPY writes NULL as an empty field and an empty string as "": only the unquoted one is null.
        convert_options=csv.ConvertOptions(
            column_types={p: _arrow_type(oid) for p, oid in zip(positions, types, strict=True)},
            null_values=[""],  # not pyarrow's default list, which would read a name "NA" or "NULL" as NULL
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )
    columns = {name: _typed(table.column(i), oid, zone) for i, (name, oid) in enumerate(zip(names, types, strict=True))}
    return pd.DataFrame(columns)


def _typed(column: pa.ChunkedArray, oid: int, zone) -> pd.Series:
    """One parsed column in the dtype a frame of psycopg's values has: text and dates as objects with None,
    integers as int64 (float where one is missing), booleans as bool (objects where one is missing),
    timestamps in nanoseconds, zoned ones in the connection's time zone."""
    if column.null_count == len(column):
        return pd.Series([None] * len(column), dtype=object)
    values = column.to_pandas(coerce_temporal_nanoseconds=True)
    if oid in TIMESTAMPTZ:
        return values.dt.tz_convert(zone)
    return values
