"""The loyalty vendor's CSV dialect: UTF-8 with BOM, ``;``, Finnish headers, Finnish dates and decimals.

Parsing is strict and row by row: a row with the wrong number of fields, a date that does not exist
or an amount such as ``12,9O`` is rejected with its raw line and the reason, never guessed at.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from quality.quarantine import Rejected

MEMBERS_PREFIX = "jasenet_"
PURCHASES_PREFIX = "ostot_"
FILE_PATTERN = re.compile(r"^(jasenet|ostot)_(\d{8})\.csv$")
MEMBER_HEADER = [
    "jasennumero",
    "etunimi",
    "sukunimi",
    "syntymaaika",
    "puhelin",
    "sahkoposti",
    "postinumero",
    "liittynyt",
    "taso",
    "pisteet",
    "markkinointilupa",
    "lupa_muutettu",
]
PURCHASE_HEADER = ["jasennumero", "myymala", "aika", "summa"]
BATCH_ROWS = 5_000


@dataclass(frozen=True)
class Drop:
    """One file delivered by the vendor, with the digest that tells a re-delivery apart."""

    name: str
    content: bytes
    digest: str


class ParseError(ValueError):
    def __init__(self, column: str, check: str) -> None:
        super().__init__(f"{column}: {check}")
        self.column, self.check = column, check


def parse_date(text: str, column: str) -> date | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%d.%m.%Y").date()
    except ValueError:
        raise ParseError(column, "date DD.MM.YYYY") from None


def parse_time(text: str, column: str) -> datetime:
    try:
        return datetime.strptime(text, "%d.%m.%Y %H:%M")
    except ValueError:
        raise ParseError(column, "time DD.MM.YYYY HH:MM") from None


def parse_decimal(text: str, column: str) -> Decimal:
    if not re.fullmatch(r"-?\d+(,\d+)?", text.replace(" ", "")):
        raise ParseError(column, "decimal with a comma")
    try:
        return Decimal(text.replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise ParseError(column, "decimal with a comma") from None


def parse_int(text: str, column: str) -> int:
    if not re.fullmatch(r"-?\d+", text.strip()):
        raise ParseError(column, "integer")
    return int(text)


def _member(fields: dict[str, str], _drop: Drop, _line_no: int) -> dict[str, Any]:
    return {
        **{
            k: fields[k] or None
            for k in (
                "jasennumero",
                "etunimi",
                "sukunimi",
                "puhelin",
                "sahkoposti",
                "postinumero",
                "taso",
                "markkinointilupa",
            )
        },
        "syntymaaika": parse_date(fields["syntymaaika"], "syntymaaika"),
        "liittynyt": parse_date(fields["liittynyt"], "liittynyt"),
        "pisteet": parse_int(fields["pisteet"], "pisteet"),
        "lupa_muutettu": parse_date(fields["lupa_muutettu"], "lupa_muutettu"),
        "source_file": _drop.name,
    }


def _purchase(fields: dict[str, str], drop: Drop, line_no: int) -> dict[str, Any]:
    return {
        "purchase_id": f"{drop.name}:{line_no}",
        "jasennumero": fields["jasennumero"] or None,
        "myymala": fields["myymala"] or None,
        "aika": parse_time(fields["aika"], "aika"),
        "summa": parse_decimal(fields["summa"], "summa"),
        "source_file": drop.name,
    }


def parse_drop(
    drop: Drop, header: list[str], build: Callable[[dict[str, str], Drop, int], dict[str, Any]]
) -> Iterator[tuple[list[dict[str, Any]], list[Rejected]]]:
    """Batches of (parsed rows, rejected rows) of one file; every data line lands in one of them."""
    text = drop.content.decode("utf-8-sig")
    lines = text.splitlines()
    if not lines or [h.strip().lower() for h in lines[0].split(";")] != header:
        raise ValueError(f"{drop.name}: header does not match the contract")
    rows: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for line_no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        raw = {"file": drop.name, "line_no": line_no, "line": line}
        values = next(csv.reader(io.StringIO(line), delimiter=";"))
        if len(values) != len(header):
            rejected.append(Rejected(raw, [{"column": "*", "check": f"{len(header)} fields"}]))
        else:
            try:
                rows.append(build(dict(zip(header, (v.strip() for v in values), strict=True)), drop, line_no))
            except ParseError as error:
                rejected.append(Rejected(raw, [{"column": error.column, "check": error.check}]))
        if len(rows) + len(rejected) >= BATCH_ROWS:
            yield rows, rejected
            rows, rejected = [], []
    if rows or rejected:
        yield rows, rejected


def parse_members(drop: Drop) -> Iterator[tuple[list[dict[str, Any]], list[Rejected]]]:
    if drop.name.startswith(MEMBERS_PREFIX):
        yield from parse_drop(drop, MEMBER_HEADER, _member)


def parse_purchases(drop: Drop) -> Iterator[tuple[list[dict[str, Any]], list[Rejected]]]:
    if drop.name.startswith(PURCHASES_PREFIX):
        yield from parse_drop(drop, PURCHASE_HEADER, _purchase)
