"""PostgreSQL results read through COPY are the frames the row path gives, value for value and type for type."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import POSTGRES_ADMIN_URL

from hub import storage
from hub.golden_store import load_blocking_keys
from hub.postgres_copy import copy_frame, copy_in
from hub.segments.store import load_metrics, read_contacts, read_engagement

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


WRITTEN = """
CREATE TEMP TABLE {name} (
    position integer, name text, flag boolean, big bigint, small integer, ratio double precision, born date,
    seen timestamptz, local timestamp, never text, raw bytea
)
"""


def _every_kind() -> pd.DataFrame:
    """A frame of the values the hub writes: quotes, separators, newlines, empty strings beside missing ones,
    integers beyond a double's precision, nanoseconds, dates outside a nanosecond stamp's years."""
    return pd.DataFrame(
        {
            "position": [1, 2, 3, 4],
            "name": ['Äijälä, "Ossi"', "", None, "line one\nline two\t\\N"],
            "flag": [True, None, False, True],
            "big": [9007199254740993, -1, 0, 42],
            "small": pd.array([7, None, 8, 9], dtype="Int64"),
            "ratio": [0.1, float("nan"), 1 / 3, 1e-7],
            "born": [pd.Timestamp("1999-12-31").date(), None, pd.Timestamp("2026-02-28").date(), None],
            "seen": pd.to_datetime(
                [
                    "2026-11-28 12:00:00.123456789+02:00",
                    None,
                    "1970-01-01 00:00:00+00:00",
                    "2026-06-30 23:59:59.9999999Z",
                ],
                utc=True,
                format="ISO8601",
            ),
            "local": pd.to_datetime(
                ["2026-11-28 12:00:00", "2000-01-01 00:00:00.5", None, "2026-01-01"], format="ISO8601"
            ),
            "never": [None, None, None, None],
        }
    )


def _written(connection: sa.Connection, name: str) -> pd.DataFrame:
    return _rows(connection, f"SELECT * FROM {name} ORDER BY position")


def test_a_frame_copied_in_reads_back_as_inserted_row_by_row(connection):
    """The oracle is SQLAlchemy's own parameterised INSERT of the same values."""
    frame = _every_kind()
    for name in ("copied", "inserted"):
        connection.exec_driver_sql(WRITTEN.format(name=name))
    copy_in(connection.connection.driver_connection, "copied", frame)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    columns = ", ".join(frame.columns)
    values = ", ".join(f":{c}" for c in frame.columns)
    connection.execute(sa.text(f"INSERT INTO inserted ({columns}) VALUES ({values})"), records)
    copied, inserted = _written(connection, "copied"), _written(connection, "inserted")
    pd.testing.assert_frame_equal(copied, inserted, check_exact=True)
    assert copied["name"].tolist()[:3] == ['Äijälä, "Ossi"', "", None]  # the empty string is not NULL


def test_a_frame_with_a_column_csv_cannot_carry_goes_row_by_row(connection):
    connection.exec_driver_sql(WRITTEN.format(name="bytes_kept"))
    frame = pd.DataFrame({"position": [1, 2], "raw": [b"\x00\xff,\n", None], "name": ["", None]})
    copy_in(connection.connection.driver_connection, "bytes_kept", frame)
    written = _written(connection, "bytes_kept")
    assert written["raw"].tolist() == [b"\x00\xff,\n", None] and written["name"].tolist() == ["", None]


@pytest.mark.parametrize("piped_backend", ["postgresql"], indirect=True)
def test_a_runs_large_reads_go_through_copy(piped_settings, monkeypatch):
    """At 400,000 persons each of these reads, row by row, cost a run seconds: a numeric column (money, a sum of
    bigints) or a bound parameter sent them there (the contacts' system names and purposes are ``constant``)."""
    fetched: list[str] = []

    def watched(connection, sql):
        frame = copy_frame(connection, sql)
        if frame is None:
            fetched.append(sql)
        return frame

    monkeypatch.setattr(storage, "copy_frame", watched)
    with storage.engine(piped_settings.database_url).connect() as connection:
        metrics, _ = load_metrics(connection), load_metrics(connection, previous=True)
        keys, engagement = load_blocking_keys(connection), read_engagement(connection)
        contacts = read_contacts(connection)
    assert not fetched
    assert len(metrics) > 100 and metrics["revenue_total_eur"].dtype == float
    assert len(keys) > 100 and engagement["bounces"].dtype == "int64"
    assert contacts["has_account"].any() and not contacts["has_account"].all() and contacts["consents"].any()
