"""The loyalty drop folder landed by dlt: broken files balance the ledger, purchase times land as UTC
instants on DuckDB and PostgreSQL, and a re-delivery under a new name is skipped where an operator sees it."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from hub import storage
from hub.ledger import account, latest_load_id
from hub.resources import landing_pipeline
from sources.loyalty import loyalty

BOM = b"\xef\xbb\xbf"
PURCHASE_HEADER = "jasennumero;myymala;aika;summa"
MEMBER_HEADER = (
    "jasennumero;etunimi;sukunimi;syntymaaika;puhelin;sahkoposti;postinumero;liittynyt;taso;"
    "pisteet;markkinointilupa;lupa_muutettu"
)


def write(folder: Path, name: str, lines: list[str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    encoded = [line if isinstance(line, bytes) else line.encode("utf-8") for line in lines]
    path = folder / name
    path.write_bytes(BOM + b"\r\n".join(encoded) + b"\r\n")
    return path


def land(folder: Path, url: str, home: Path):
    pipeline = landing_pipeline("loyalty", url, home)
    pipeline.run(loyalty(location=str(folder)), loader_file_format=storage.loader_file_format(url))
    return pipeline


def rows(url: str, sql: str) -> list[tuple]:
    with storage.engine(url).connect() as connection:
        return [tuple(r) for r in connection.execute(sa.text(sql))]


def test_broken_files_are_quarantined_line_by_line_and_the_ledger_balances(database_url, tmp_path):
    drops = tmp_path / "drops"
    write(
        drops,
        "ostot_20261122.csv",
        [
            PURCHASE_HEADER,
            "L100;Tampere;22.11.2026 14:05;12,90",
            "L101;Hämeenlinna;22.11.2026 14:06;3,00".encode("latin-1"),
            f"L102;{'x' * 200_000};22.11.2026 14:07;4,00",
            "L103;Tampere;22.11.2026 14:08;5,00",
        ],
    )
    write(drops, "jasenet_20261122.csv", [MEMBER_HEADER.replace("etunimi", "first_name"), "L100;A;B;;;;;;perus;0;K;"])
    land(drops, database_url, tmp_path / "hub")

    with storage.engine(database_url).connect() as connection:
        load_id = latest_load_id(connection, "loyalty")
        purchases = account(connection, "loyalty", "loyalty_purchase", load_id)
        members = account(connection, "loyalty", "loyalty_member", load_id)
    assert (purchases.read, purchases.landed, purchases.quarantined) == (4, 2, 2) and purchases.balanced
    assert (members.read, members.landed, members.quarantined) == (2, 0, 2) and members.balanced
    held = {}
    for raw, checks in rows(database_url, "SELECT raw, checks FROM landing.quarantine"):
        line = json.loads(raw)
        held[line["file"], line["line_no"]] = json.loads(checks)[0]["check"]
    assert held == {
        ("ostot_20261122.csv", 3): "valid UTF-8",
        ("ostot_20261122.csv", 4): "at most 1000 characters",
        ("jasenet_20261122.csv", 1): "header does not match the contract",
        ("jasenet_20261122.csv", 2): "header does not match the contract",
    }


def test_purchase_times_land_as_their_true_utc_instant(database_url, tmp_path):
    drops = tmp_path / "drops"
    write(
        drops,
        "ostot_20261122.csv",
        [
            PURCHASE_HEADER,
            "L1;S;22.11.2026 14:05;1,00",  # winter time, UTC+2
            "L1;S;01.07.2026 12:00;1,00",  # summer time, UTC+3
            "L1;S;25.10.2026 03:30;1,00",  # twice that night: the first, summer time
            "L1;S;29.03.2026 03:30;1,00",  # never that night: read as UTC+2
        ],
    )
    land(drops, database_url, tmp_path / "hub")
    landed = dict(rows(database_url, "SELECT purchase_id, aika FROM landing.loyalty_purchase"))
    assert all(value.tzinfo is not None for value in landed.values()), landed
    assert {key: value.astimezone(UTC) for key, value in landed.items()} == {
        "ostot_20261122.csv:2": datetime(2026, 11, 22, 12, 5, tzinfo=UTC),
        "ostot_20261122.csv:3": datetime(2026, 7, 1, 9, 0, tzinfo=UTC),
        "ostot_20261122.csv:4": datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        "ostot_20261122.csv:5": datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    }


def test_a_redelivery_under_a_new_name_is_skipped_logged_and_recorded(tmp_path, caplog):
    """DuckDB only: which files are read does not depend on the hub's database."""
    url = f"duckdb:///{tmp_path / 'hub.duckdb'}"
    drops = tmp_path / "drops"
    first = write(drops, "ostot_20261122.csv", [PURCHASE_HEADER, "L100;Tampere;22.11.2026 14:05;12,90"])
    land(drops, url, tmp_path / "hub")
    (drops / "ostot_20261123.csv").write_bytes(first.read_bytes())

    with caplog.at_level(logging.WARNING, logger="sources.loyalty"):
        pipeline = land(drops, url, tmp_path / "hub")
    assert rows(url, "SELECT purchase_id FROM landing.loyalty_purchase") == [("ostot_20261122.csv:2",)]
    assert pipeline.state["sources"]["loyalty"]["duplicate_files"] == {"ostot_20261123.csv": "ostot_20261122.csv"}
    (message,) = [r.getMessage() for r in caplog.records if r.name == "sources.loyalty"]
    assert "ostot_20261123.csv" in message and "ostot_20261122.csv" in message and "L100" not in message

    caplog.clear()
    land(drops, url, tmp_path / "hub")
    assert not [r for r in caplog.records if r.name == "sources.loyalty"], "a known copy is not reported every run"
    storage.engine(url).dispose()
