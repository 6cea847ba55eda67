"""Telling the loyalty vendor about erasures and corrections: it has no API, only an inbox folder.

The hub drops ``poistot_YYYYMMDD.csv`` (``jasennumero;pyynto``: member number, the hub's request id)
and ``korjaukset_YYYYMMDD.csv`` (``jasennumero;kentta;arvo;pyynto``, the field named by the vendor's
own Finnish header) into the inbox, a local folder or an fsspec URL, in the vendor's dialect: UTF-8
with a BOM, ``;``, CRLF. A notice merges into the day's file (one erasure line per member, one
correction line per member, field and request), so sending it again changes nothing, and the file is
replaced whole through a temporary name so that the vendor never reads half of it. The receipt names
the file and its SHA-256 after writing. Writers of one inbox are expected to take turns (the hub sends
notices from one process); two writing the same day's file at the same moment could lose a line.
"""

import csv
import hashlib
import io
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

import fsspec

from exports.attributes import as_date, known
from exports.receipts import FAILED, SENT, Receipt

SYSTEM = "loyalty"
ERASURE_PREFIX = "poistot_"
CORRECTION_PREFIX = "korjaukset_"
ERASURE_HEADER = ["jasennumero", "pyynto"]
CORRECTION_HEADER = ["jasennumero", "kentta", "arvo", "pyynto"]
FIELDS = {
    "first_name": "etunimi",
    "last_name": "sukunimi",
    "birth_date": "syntymaaika",
    "phone": "puhelin",
    "email": "sahkoposti",
    "postal_code": "postinumero",
}
HELD = frozenset(FIELDS)  # the hub attributes the vendor holds (no street, no city)


def erasure_notice(inbox: str, member_numbers: Iterable[str], request_id: str, today: date) -> list[Receipt]:
    """Ask the vendor to delete these members; one receipt per distinct member number."""
    numbers = [n for n in dict.fromkeys(str(m).strip() for m in member_numbers) if n]
    if not numbers:
        return []
    name = f"{ERASURE_PREFIX}{today:%Y%m%d}.csv"
    detail = _merge_into(inbox, name, ERASURE_HEADER, [[n, str(request_id)] for n in numbers], lambda row: row[0])
    status = FAILED if detail.startswith("not written") else SENT
    return [Receipt(SYSTEM, "delete", n, status, detail) for n in numbers]


def correction_notice(
    inbox: str, member_number: str, changes: Mapping[str, Any], request_id: str, today: date
) -> Receipt | None:
    """Tell the vendor the corrected values of the fields it holds; None if it holds none of them."""
    target = str(member_number).strip()
    changes = known(changes)
    rows = [[target, FIELDS[k], _value(k, v), str(request_id)] for k, v in changes.items() if k in FIELDS]
    if not rows:
        return None
    name = f"{CORRECTION_PREFIX}{today:%Y%m%d}.csv"
    detail = _merge_into(inbox, name, CORRECTION_HEADER, rows, lambda row: (row[0], row[1], row[3]))
    return Receipt(SYSTEM, "update", target, FAILED if detail.startswith("not written") else SENT, detail)


def _value(attribute: str, value: Any) -> str:
    """The vendor's spelling of a value: dates as DD.MM.YYYY, nothing as an empty field."""
    if attribute == "birth_date":
        born = as_date(value)
        return f"{born:%d.%m.%Y}" if born else ""
    return "" if value is None else str(value)


def _merge_into(
    inbox: str, name: str, header: list[str], rows: list[list[str]], key: Callable[[list[str]], Any]
) -> str:
    """Merge ``rows`` into the day's file (a row replaces the one with its key) and answer the receipt detail."""
    try:
        fs, root = fsspec.core.url_to_fs(inbox)
        fs.makedirs(root, exist_ok=True)
        path = f"{root.rstrip('/')}/{name}"
        old = fs.cat_file(path) if fs.exists(path) else None
        merged = {key(row): row for row in (_rows(old, header) if old is not None else [])}
        merged.update((key(row), row) for row in rows)
        content = _encode(header, list(merged.values()))
        if content != old:
            temporary = f"{root.rstrip('/')}/.{name}.{uuid.uuid4().hex}.tmp"
            fs.pipe_file(temporary, content)
            fs.mv(temporary, path)
    except (OSError, ValueError) as error:
        return f"not written: {name} ({type(error).__name__})"
    return f"{name} sha256={hashlib.sha256(content).hexdigest()}"


def _rows(content: bytes, header: list[str]) -> list[list[str]]:
    """The data rows of a notice file already in the inbox (one the hub wrote)."""
    table = [row for row in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";") if row]
    if not table or table[0] != header or any(len(row) != len(header) for row in table[1:]):
        raise ValueError("the inbox holds a notice file of another shape")
    return table[1:]


def _encode(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")
