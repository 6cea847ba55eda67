"""PostgreSQL results read through COPY are the frames the row path gives, value for value and type for type."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import POSTGRES_ADMIN_URL

from hub.postgres_read import copy_frame

pytestmark = pytest.mark.postgres

ROWS = """
CREATE TEMP TABLE every_kind (
    position integer, name text, code varchar, flag boolean, maybe boolean, big bigint, small integer,
    ratio double precision, born date, seen timestamptz, local timestamp, never text
);
INSERT INTO every_kind VALUES
    (1, 'Äijälä, "Ossi"', 'a\tb', TRUE, NULL, 9007199254740993, NULL, 'NaN', '1999-12-31',
     '2026-11-28 12:00:00.123456+02', '2026-11-28 12:00:00', NULL),
    (2, '', '\\N', FALSE, TRUE, -1, 7, 'Infinity', NULL, NULL, NULL, NULL),
    (3, NULL, 'line one
line two', TRUE, FALSE, 0, 8, 0.1, '2026-02-28', '1970-01-01 00:00:00+00', '2000-01-01 00:00:00.5', NULL),
    (4, ' spaced ', '', FALSE, NULL, 42, 9, NULL, '0001-01-01', '2026-06-30 23:59:59.999999+00', NULL, NULL),
    (5, 'NA', 'NULL', TRUE, TRUE, 1, 1, 1, NULL, NULL, NULL, 'nan'),
    (6, 'N/A', '#N/A', TRUE, TRUE, 1, 1, 1, NULL, NULL, NULL, 'null'),
    (7, '<NA>', 'NaN', TRUE, TRUE, 1, 1, 1, NULL, NULL, NULL, 'None');
"""


@pytest.fixture
def connection():
    engine = sa.create_engine(POSTGRES_ADMIN_URL, poolclass=sa.NullPool)
    with engine.connect() as connection:
        for statement in ROWS.split(";"):
            if statement.strip():
                connection.exec_driver_sql(statement)
        yield connection
    engine.dispose()


def _rows(connection: sa.Connection, sql: str) -> pd.DataFrame:
    result = connection.execute(sa.text(sql))
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM every_kind ORDER BY position",
        "SELECT * FROM every_kind WHERE position = 3",  # one row: no NULL in most columns
        "SELECT name, never FROM every_kind WHERE position > 2 ORDER BY position",
        "SELECT * FROM every_kind WHERE position > 99",  # no rows
        "SELECT name LIKE '%,%' AS comma, position % 2 AS odd, '100%' AS whole FROM every_kind",
    ],
)
def test_copy_gives_the_frame_the_rows_give(connection, sql: str):
    copied = copy_frame(connection, str(sa.text(sql).compile(dialect=connection.dialect)))
    pd.testing.assert_frame_equal(copied, _rows(connection, sql), check_exact=True)


def test_a_type_copy_does_not_read_goes_to_the_row_path(connection):
    assert copy_frame(connection, "SELECT position, 1.5::numeric AS amount FROM every_kind") is None
    assert copy_frame(connection, "SELECT '{}'::jsonb AS doc FROM every_kind") is None
    assert copy_frame(connection, "SELECT name, code AS name FROM every_kind") is None
    assert copy_frame(connection, "SELECT '0001-01-01 00:00:00+00'::timestamptz AS ancient") is None


def test_a_failing_query_raises_what_the_row_path_raises(connection):
    with pytest.raises(sa.exc.ProgrammingError):
        copy_frame(connection, "SELECT * FROM no_such_table")
