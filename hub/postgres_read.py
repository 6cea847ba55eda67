"""Reading a whole query result from PostgreSQL through COPY, as fast as DuckDB hands its columns over.

Fetching rows makes a Python tuple per row and a Python object per value: at two million rows of consent
decisions that is about 20 s, most of an incremental step. ``COPY (query) TO STDOUT`` sends the same
result as CSV, which pyarrow parses column by column; each column is then given the type psycopg would
have given it, so a caller cannot tell the two paths apart (``tests/test_postgres_read.py`` holds them
equal). A result with a column of any other type is left to the row path (``None``).
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


def _parsed(buffer: io.BytesIO, names: list[str], types: list[int], zone) -> pd.DataFrame:
    positions = [f"c{i}" for i in range(len(names))]
    table = csv.read_csv(
        buffer,
        read_options=csv.ReadOptions(column_names=positions),
        parse_options=csv.ParseOptions(newlines_in_values=True),
        # COPY writes NULL as an empty field and an empty string as "": only the unquoted one is null.
        convert_options=csv.ConvertOptions(
            column_types={
                p: pa.date32() if oid in DATE else pa.string() for p, oid in zip(positions, types, strict=True)
            },
            null_values=[""],  # not pyarrow's default list, which would read a name "NA" or "NULL" as NULL
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    columns = {
        name: _typed(table.column(i).to_pandas(), oid, zone)
        for i, (name, oid) in enumerate(zip(names, types, strict=True))
    }
    return pd.DataFrame(columns)


def _typed(text: pd.Series, oid: int, zone) -> pd.Series:
    """One column's CSV text (dates already parsed) as the values psycopg gives, in the dtype a frame of those
    values has."""
    present = text.notna()
    if not present.any():
        return pd.Series([None] * len(text), dtype=object)
    if oid in TEXT:
        return text.astype(object).where(present, None)
    if oid in BOOLEAN:
        values = text.map({"t": True, "f": False})
        return values.astype(bool) if present.all() else values.astype(object).where(present, None)
    if oid in INTEGER:
        return text.astype("int64") if present.all() else text.astype(float)
    if oid in FLOAT:
        return text.astype(float)
    if oid in DATE:  # parsed by pyarrow: datetime.date objects, beyond the years a nanosecond stamp holds
        return text.astype(object).where(present, None)
    if oid in TIMESTAMP:
        return pd.to_datetime(text, format="ISO8601")
    return pd.to_datetime(text, format="ISO8601", utc=True).dt.tz_convert(zone)
