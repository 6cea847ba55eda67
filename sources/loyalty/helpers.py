"""The loyalty vendor's CSV dialect: UTF-8 with BOM, ``;``, Finnish headers, Finnish dates and decimals.

Parsing is strict and line by line, so that one bad line never costs the rest of the file: every
non-blank line is either a row or rejected with its file, line number, raw text and reason, never
guessed at. The rules, in the order they are checked:

- a file whose first line is not the contract's header has every line rejected ("header does not
  match the contract"), the first line included: a renamed column and a missing header look alike,
  and either way no field can be trusted to be what its position says;
- a line that is not valid UTF-8 (a Latin-1 ``ä`` is byte 0xE4) is rejected; its raw text keeps
  the bad bytes visible as ``\\xe4``;
- no field of the contract is longer than ``MAX_FIELD_CHARS`` characters; a line too long to hold
  its fields within that limit is rejected before it is split, which also keeps Python's csv field
  limit (128 KiB) out of reach;
- then the number of fields, and each field's format: dates ``DD.MM.YYYY``, times
  ``DD.MM.YYYY HH:MM``, decimal comma, integers.

Purchase times are Finnish wall-clock time and land as their UTC instant (see ``parse_time``).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

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
MAX_FIELD_CHARS = 1_000
WRONG_HEADER = "header does not match the contract"
VENDOR_TIME_ZONE = ZoneInfo("Europe/Helsinki")

Builder = Callable[[dict[str, str], "Drop", int], dict[str, Any]]


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
    """The UTC instant of a Finnish wall-clock time (Europe/Helsinki), tz-aware.

    The two daylight-saving changes follow PEP 495's ``fold=0``, so no purchase is lost to a till's
    clock: a time that occurs twice (the last Sunday of October, 03:00-03:59) is the first
    occurrence, still summer time (UTC+3); a time that does not exist (the last Sunday of March,
    03:00-03:59) is read with the winter offset in force just before (UTC+2), that is, one hour
    later on the clock.
    """
    try:
        local = datetime.strptime(text, "%d.%m.%Y %H:%M")
    except ValueError:
        raise ParseError(column, "time DD.MM.YYYY HH:MM") from None
    return local.replace(tzinfo=VENDOR_TIME_ZONE).astimezone(UTC)


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


def _member(fields: dict[str, str], drop: Drop, _line_no: int) -> dict[str, Any]:
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
        "source_file": drop.name,
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


def _lines(content: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of the non-blank lines; split on bytes, so that decoding is per line."""
    for line_no, line in enumerate(content.removeprefix(codecs.BOM_UTF8).splitlines(), start=1):
        if line.strip():
            yield line_no, line


def _fields(line: bytes, header: list[str]) -> dict[str, str]:
    """The line's fields by the header's names, or the first rule it breaks."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError("*", "valid UTF-8") from None
    too_long = f"at most {MAX_FIELD_CHARS} characters"
    if len(text) > len(header) * (MAX_FIELD_CHARS + 3):  # every field at the limit, quoted, with its ';'
        raise ParseError("*", too_long)
    values = next(csv.reader([text], delimiter=";"))
    if len(values) != len(header):
        raise ParseError("*", f"{len(header)} fields")
    for name, value in zip(header, values, strict=True):
        if len(value) > MAX_FIELD_CHARS:
            raise ParseError(name, too_long)
    return {name: value.strip() for name, value in zip(header, values, strict=True)}


def _parsed(drop: Drop, header: list[str], build: Builder) -> Iterator[dict[str, Any] | Rejected]:
    """Every non-blank line of the file as a row or a ``Rejected``, in file order."""
    lines = _lines(drop.content)
    first = next(lines, None)
    if first is None:
        return
    first_names = [h.strip().lower() for h in first[1].decode("utf-8", "backslashreplace").split(";")]
    header_matches = first_names == header
    for line_no, line in lines if header_matches else chain([first], lines):
        try:
            if not header_matches:
                raise ParseError("*", WRONG_HEADER)
            yield build(_fields(line, header), drop, line_no)
        except ParseError as error:
            raw = {"file": drop.name, "line_no": line_no, "line": line.decode("utf-8", "backslashreplace")}
            yield Rejected(raw, [{"column": error.column, "check": error.check}])


def parse_drop(drop: Drop, header: list[str], build: Builder) -> Iterator[tuple[list[dict[str, Any]], list[Rejected]]]:
    """Batches of (parsed rows, rejected rows) of one file; every non-blank line lands in one of them."""
    rows: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for outcome in _parsed(drop, header, build):
        if isinstance(outcome, Rejected):
            rejected.append(outcome)
        else:
            rows.append(outcome)
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
