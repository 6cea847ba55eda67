"""Writing only what differs: the table ends as the frame says, and untouched rows are really untouched."""

from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from hub import schema as t
from hub import storage

BEFORE = datetime(2026, 1, 1, tzinfo=UTC)
AFTER = datetime(2026, 2, 1, tzinfo=UTC)


def _xref(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["source_system", "source_key", "customer_id"])


def _golden(ids: list[str], cities: list[str | None], at: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": ids, "city": cities, "source_records": 1, "source_systems": "erp", "updated_at": at}
    )


def test_only_changed_gone_and_new_rows_are_written(database_url: str) -> None:
    storage.migrate(database_url)
    engine = storage.engine(database_url)
    first = _xref([("erp", "1", "C1"), ("erp", "2", "C2"), ("webshop", "1", "C1"), ("webshop", "2", "C3")])
    with engine.begin() as connection:
        assert storage.write_differences(connection, t.customer_xref, first) == (0, 4)
    second = _xref([("erp", "1", "C1"), ("erp", "2", "C1"), ("webshop", "1", "C1"), ("esp", "9", "C4")])
    with engine.begin() as connection:
        # erp 2 moved (deleted and inserted again), webshop 2 is gone, esp 9 is new
        assert storage.write_differences(connection, t.customer_xref, second) == (2, 2)
        stored = storage.read_frame(connection, sa.select(t.customer_xref))
    key = ["source_system", "source_key"]
    assert stored.sort_values(key).reset_index(drop=True).equals(second.sort_values(key).reset_index(drop=True))


def test_a_row_whose_values_are_the_same_keeps_its_stamp(database_url: str) -> None:
    """Nulls compare as equal, so a row with a null is not rewritten every run."""
    storage.migrate(database_url)
    engine = storage.engine(database_url)
    with engine.begin() as connection:
        storage.write_differences(connection, t.golden_customer, _golden(["C1", "C2"], [None, "Oulu"], BEFORE))
    with engine.begin() as connection:
        changes = storage.write_differences(
            connection, t.golden_customer, _golden(["C1", "C2"], [None, "Turku"], AFTER), unchanged_by=("updated_at",)
        )
        stored = storage.read_frame(
            connection, sa.select(t.golden_customer.c.customer_id, t.golden_customer.c.updated_at)
        )
    assert changes == (1, 1)
    stamps = dict(zip(stored["customer_id"], pd.to_datetime(stored["updated_at"], utc=True), strict=True))
    assert stamps == {"C1": pd.Timestamp(BEFORE), "C2": pd.Timestamp(AFTER)}
