"""``read_frame`` on both stores: the hub's ``constant`` values are written into the statement (so PostgreSQL's
read still goes through COPY) and every % reaches the store as written: PostgreSQL's driver doubles them for its
placeholders and COPY must not see the doubling; DuckDB's placeholders are numbered and leave them alone."""

import sqlalchemy as sa

from hub import schema as t
from hub import storage


def test_constants_and_literal_percent_signs_read_as_written(database_url: str) -> None:
    storage.migrate(database_url)
    x = t.customer_xref.c
    rows = [("erp", "1", "C1"), ("webshop", "order:9", "C2"), ("webshop", "7", "C3"), ("esp", "3", "C4")]
    with storage.engine(database_url).begin() as connection:
        connection.execute(
            sa.insert(t.customer_xref),
            [dict(zip(("source_system", "source_key", "customer_id"), r, strict=True)) for r in rows],
        )
        accounts = storage.read_frame(
            connection,
            sa.select(x.customer_id)
            .where(
                sa.or_(
                    x.source_system == storage.constant("erp"),
                    sa.and_(
                        x.source_system == storage.constant("webshop"),
                        x.source_key.not_like(storage.constant("order:%")),
                    ),
                )
            )
            .order_by(x.customer_id),
        )
        percent = storage.read_frame(connection, "SELECT 7 % 2 AS odd, '100%' AS whole, 'a%%b' AS doubled")
    assert accounts["customer_id"].tolist() == ["C1", "C3"]
    assert percent.iloc[0].tolist() == [1, "100%", "a%%b"]
