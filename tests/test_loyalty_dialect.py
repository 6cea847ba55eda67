"""The loyalty vendor's CSV dialect, broken rows included: every line is parsed or rejected."""

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from sources.loyalty.helpers import MAX_FIELD_CHARS, Drop, parse_members, parse_purchases

MEMBER_HEADER = (
    "jasennumero;etunimi;sukunimi;syntymaaika;puhelin;sahkoposti;postinumero;liittynyt;taso;"
    "pisteet;markkinointilupa;lupa_muutettu"
)


PURCHASE_HEADER = "jasennumero;myymala;aika;summa"


def drop(name: str, lines: list[str | bytes]) -> Drop:
    """A file in the vendor's dialect; a line given as bytes is written as is (another encoding)."""
    encoded = [line if isinstance(line, bytes) else line.encode("utf-8") for line in lines]
    content = b"\xef\xbb\xbf" + b"\r\n".join(encoded) + b"\r\n"
    return Drop(name, content, hashlib.sha256(content).hexdigest())


def all_batches(batches):
    rows, rejected = [], []
    for good, bad in batches:
        rows += good
        rejected += bad
    return rows, rejected


def test_members_parse_finnish_dates_and_keep_the_bom_out_of_the_header():
    members = drop(
        "jasenet_20261122.csv",
        [
            MEMBER_HEADER,
            "L100;Äijä;Möttönen;07.03.1984;040 123 4567;aija@example.fi;33100;01.02.2020;kulta;1520;K;05.05.2024",
            "L101;Anna;Virtanen;;;;;15.06.2021;perus;0;E;",
        ],
    )
    rows, rejected = all_batches(parse_members(members))
    assert rejected == []
    first, second = rows
    assert first["etunimi"] == "Äijä"
    assert first["syntymaaika"] == date(1984, 3, 7)
    assert first["lupa_muutettu"] == date(2024, 5, 5)
    assert first["pisteet"] == 1520
    assert second["syntymaaika"] is None and second["sahkoposti"] is None


def test_broken_member_rows_are_rejected_with_their_reason_and_raw_line():
    members = drop(
        "jasenet_20261122.csv",
        [
            MEMBER_HEADER,
            "L200;Pekka;Nieminen;31.02.1980;;;;01.01.2020;perus;10;K;01.01.2020",
            "L201;Liisa;Korhonen;1980-01-01;;;;01.01.2020;perus;10;K;01.01.2020",
            "L202;too;few;fields",
            "L203;Matti;Mäkinen;01.01.1970;;;;01.01.2020;perus;1O;K;01.01.2020",
            "L204;Ok;Row;01.01.1970;;;;01.01.2020;hopea;5;E;01.01.2020",
        ],
    )
    rows, rejected = all_batches(parse_members(members))
    assert [r["jasennumero"] for r in rows] == ["L204"]
    reasons = {r.raw["line"].split(";")[0]: r.checks[0] for r in rejected}
    assert reasons["L200"] == {"column": "syntymaaika", "check": "date DD.MM.YYYY"}
    assert reasons["L201"]["column"] == "syntymaaika"
    assert reasons["L202"] == {"column": "*", "check": "12 fields"}
    assert reasons["L203"] == {"column": "pisteet", "check": "integer"}
    assert all(r.raw["file"] == "jasenet_20261122.csv" and r.raw["line_no"] >= 2 for r in rejected)


def test_purchases_parse_decimal_comma_and_reject_a_letter_o_for_a_zero():
    purchases = drop(
        "ostot_20261122.csv",
        [
            "jasennumero;myymala;aika;summa",
            "L100;Tampere Koskikeskus;22.11.2026 14:05;12,90",
            "L100;Tampere Koskikeskus;22.11.2026 14:06;12,9O",
            "L101;Helsinki;22.11.2026 25:00;5,00",
            "L102;Helsinki;22.11.2026 10:00;-3,50",
        ],
    )
    rows, rejected = all_batches(parse_purchases(purchases))
    assert [(r["summa"], r["aika"]) for r in rows] == [
        (Decimal("12.90"), datetime(2026, 11, 22, 12, 5, tzinfo=UTC)),  # Helsinki winter time is UTC+2
        (Decimal("-3.50"), datetime(2026, 11, 22, 8, 0, tzinfo=UTC)),
    ]
    assert rows[0]["purchase_id"] == "ostot_20261122.csv:2"
    assert sorted(r.checks[0]["column"] for r in rejected) == ["aika", "summa"]


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        ("01.07.2026 12:00", datetime(2026, 7, 1, 9, 0, tzinfo=UTC)),  # summer time, UTC+3
        ("25.10.2026 02:59", datetime(2026, 10, 24, 23, 59, tzinfo=UTC)),  # the last minute before the fall back
        ("25.10.2026 03:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # occurs twice: the first, summer time
        ("25.10.2026 04:00", datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),
        ("29.03.2026 02:59", datetime(2026, 3, 29, 0, 59, tzinfo=UTC)),
        ("29.03.2026 03:30", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),  # does not exist: read as UTC+2 (04:30)
        ("29.03.2026 04:00", datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    ],
)
def test_purchase_times_are_helsinki_wall_clock_time_read_as_their_utc_instant(local, utc):
    rows, rejected = all_batches(parse_purchases(drop("ostot_20261122.csv", [PURCHASE_HEADER, f"L1;S;{local};1,00"])))
    assert rejected == []
    assert rows[0]["aika"] == utc and rows[0]["aika"].utcoffset().total_seconds() == 0


def test_members_dates_stay_dates():
    members = drop("jasenet_20261122.csv", [MEMBER_HEADER, "L1;A;B;07.03.1984;;;;01.02.2020;perus;0;K;05.05.2024"])
    (row,), _ = all_batches(parse_members(members))
    assert [type(row[k]) for k in ("syntymaaika", "liittynyt", "lupa_muutettu")] == [date, date, date]


def test_a_line_that_is_not_utf8_is_quarantined_with_file_and_line_and_the_rest_lands():
    purchases = drop(
        "ostot_20261122.csv",
        [
            PURCHASE_HEADER,
            "L100;Tampere;22.11.2026 14:05;12,90",
            "L101;Hämeenlinna;22.11.2026 14:06;3,00".encode("latin-1"),  # 'ä' is the single byte 0xE4
            "L102;Hämeenlinna;22.11.2026 14:07;4,00",
        ],
    )
    rows, rejected = all_batches(parse_purchases(purchases))
    assert [r["purchase_id"] for r in rows] == ["ostot_20261122.csv:2", "ostot_20261122.csv:4"]
    (bad,) = rejected
    assert bad.checks == [{"column": "*", "check": "valid UTF-8"}]
    assert bad.raw == {"file": "ostot_20261122.csv", "line_no": 3, "line": "L101;H\\xe4meenlinna;22.11.2026 14:06;3,00"}


def test_a_200_kb_field_and_fields_over_the_documented_limit_are_quarantined_and_the_rest_lands():
    at_limit = "x" * MAX_FIELD_CHARS
    purchases = drop(
        "ostot_20261122.csv",
        [
            PURCHASE_HEADER,
            f"L100;{'x' * 200_000};22.11.2026 14:05;12,90",  # over Python's csv field limit of 128 KiB
            f"L101;{at_limit}x;22.11.2026 14:06;3,00",
            f"L102;{at_limit};22.11.2026 14:07;4,00",
        ],
    )
    rows, rejected = all_batches(parse_purchases(purchases))
    assert [r["jasennumero"] for r in rows] == ["L102"]
    limit = f"at most {MAX_FIELD_CHARS} characters"
    assert [(r.raw["line_no"], r.checks) for r in rejected] == [
        (2, [{"column": "*", "check": limit}]),
        (3, [{"column": "myymala", "check": limit}]),
    ]
    assert all(r.raw["file"] == "ostot_20261122.csv" for r in rejected)


def test_a_file_with_the_wrong_header_has_every_line_quarantined_with_the_reason():
    purchases = drop(
        "ostot_20261122.csv",
        ["member;store;time;amount", "L100;Tampere;22.11.2026 14:05;12,90", "", "L101;Tampere;22.11.2026 14:06;1,00"],
    )
    rows, rejected = all_batches(parse_purchases(purchases))
    assert rows == []
    assert [(r.raw["file"], r.raw["line_no"]) for r in rejected] == [
        ("ostot_20261122.csv", 1),  # a changed header and a missing one look alike: the first line too
        ("ostot_20261122.csv", 2),
        ("ostot_20261122.csv", 4),
    ]
    assert all(r.checks == [{"column": "*", "check": "header does not match the contract"}] for r in rejected)


def test_an_empty_file_reads_nothing():
    assert all_batches(parse_purchases(Drop("ostot_20261122.csv", b"\xef\xbb\xbf", "-"))) == ([], [])


def test_members_file_is_not_parsed_as_purchases():
    members = drop("jasenet_20261122.csv", [MEMBER_HEADER])
    assert all_batches(parse_purchases(members)) == ([], [])
