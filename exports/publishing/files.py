"""Audiences as files: the loyalty vendor's segment snapshot and the ad platforms' customer lists.

A file is the tool's whole copy of what the hub publishes to it, so it is always written complete and
replaced whole through a temporary name in the same folder: a reader never sees half of it, and writing
it again after a crash gives the same bytes. Folders are local paths or fsspec URLs (an object store).

- Loyalty: ``segmentit_YYYYMMDD.csv`` in the vendor's inbox, ``jasennumero;segmentit`` (the member's
  segments comma-separated), in the vendor's dialect: UTF-8 with a BOM, ``;``, CRLF. A full snapshot:
  a member without segments is not in it.
- Ad platforms: ``<audience>.csv`` with ``email_sha256,phone_sha256`` (see ``targets.hashed_line``),
  lines sorted by hash, so that the order gives nothing away.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Iterable
from datetime import date

import fsspec

from exports.publishing.transport import FAILED, SENT, Answer

SNAPSHOT_PREFIX = "segmentit_"
SNAPSHOT_HEADER = ("jasennumero", "segmentit")
CUSTOMER_LIST_HEADER = ("email_sha256", "phone_sha256")


def snapshot_name(day: date) -> str:
    return f"{SNAPSHOT_PREFIX}{day:%Y%m%d}.csv"


def segment_snapshot(members: Iterable[tuple[str, str]]) -> tuple[bytes, int]:
    """The snapshot of (member number, segments) and its number of members, in the vendor's dialect."""
    rows = sorted({(str(number), segments) for number, segments in members if segments})
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(SNAPSHOT_HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig"), len(rows)


def customer_list_name(audience: str) -> str:
    return f"{audience}.csv"


def customer_list(lines: Iterable[str]) -> tuple[bytes, int]:
    """The hashed customer list of ``email_sha256,phone_sha256`` lines and its number of lines."""
    rows = sorted({line for line in lines if line.strip(",")})
    text = "\r\n".join([",".join(CUSTOMER_LIST_HEADER), *rows]) + "\r\n"
    return text.encode("utf-8"), len(rows)


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def replace_whole(folder: str, name: str, content: bytes) -> Answer:
    """Write ``content`` as ``folder/name`` through a temporary name; the answer names the file and its SHA-256."""
    try:
        fs, root = fsspec.core.url_to_fs(folder)
        fs.makedirs(root, exist_ok=True)
        base = root.rstrip("/")
        temporary = f"{base}/.{name}.{uuid.uuid4().hex}.tmp"
        fs.pipe_file(temporary, content)
        fs.mv(temporary, f"{base}/{name}")
    except (OSError, ValueError) as error:
        return Answer(FAILED, 1, f"not written: {name} ({type(error).__name__})")
    return Answer(SENT, 1, f"{name} sha256={digest(content)}")
