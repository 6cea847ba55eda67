"""The loyalty vendor's CSV dialect, broken rows included: every line is parsed or rejected."""

import hashlib
from datetime import date, datetime
from decimal import Decimal

import pytest

from sources.loyalty.helpers import Drop, parse_members, parse_purchases

MEMBER_HEADER = (
    "jasennumero;etunimi;sukunimi;syntymaaika;puhelin;sahkoposti;postinumero;liittynyt;taso;"
    "pisteet;markkinointilupa;lupa_muutettu"
)


def drop(name: str, lines: list[str]) -> Drop:
    content = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")
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
        (Decimal("12.90"), datetime(2026, 11, 22, 14, 5)),
        (Decimal("-3.50"), datetime(2026, 11, 22, 10, 0)),
    ]
    assert rows[0]["purchase_id"] == "ostot_20261122.csv:2"
    assert sorted(r.checks[0]["column"] for r in rejected) == ["aika", "summa"]


def test_a_file_with_the_wrong_header_is_refused_whole():
    with pytest.raises(ValueError, match="header"):
        all_batches(parse_purchases(drop("ostot_20261122.csv", ["member;store;time;amount"])))


def test_members_file_is_not_parsed_as_purchases():
    members = drop("jasenet_20261122.csv", [MEMBER_HEADER])
    assert all_batches(parse_purchases(members)) == ([], [])
