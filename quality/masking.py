"""Masking of raw rows for display: only fields known to carry no personal data are shown.

An allow-list rather than a deny-list: a field a system adds tomorrow is masked until someone
decides it is safe, which is the right way round for personal data.
"""

from __future__ import annotations

from typing import Any

SAFE_FIELDS = frozenset(
    {
        # identifiers of records, not of people
        "customer_no",
        "invoice_no",
        "id",
        "customer_id",
        "jasennumero",
        "campaign_id",
        "product_id",
        "purchase_id",
        "file",
        "line_no",
        # facts about the record
        "status",
        "currency",
        "total",
        "total_eur",
        "invoice_date",
        "country_code",
        "country",
        "date_created_gmt",
        "date_modified_gmt",
        "created_at",
        "updated_at",
        "is_deleted",
        "marketing_ban",
        "liittynyt",
        "taso",
        "pisteet",
        "markkinointilupa",
        "lupa_muutettu",
        "myymala",
        "aika",
        "summa",
        "last_changed",
        "timestamp_opt",
        "action",
        "timestamp",
        "send_time",
        "newsletter_opt_in",
        "newsletter_opt_in_at",
        "quantity",
        "name",
    }
)
MASK = "***"


def mask_text(value: Any) -> str:
    """First character and a fixed-length mask, so that neither content nor length leaks."""
    text = "" if value is None else str(value)
    return text[:1] + MASK if text else ""


def mask_line(line: str, separator: str = ";") -> str:
    """A raw delimited line that could not be parsed: keep the first field (the record key)."""
    first, *rest = line.split(separator)
    return separator.join([first, *(mask_text(part) for part in rest)])


def mask_record(record: Any) -> Any:
    """A copy of a raw record with every field outside ``SAFE_FIELDS`` masked, recursively."""
    if isinstance(record, dict):
        masked = {}
        for key, value in record.items():
            if key == "line" and isinstance(value, str):
                masked[key] = mask_line(value)
            elif isinstance(value, (dict, list)):
                masked[key] = mask_record(value)
            elif key in SAFE_FIELDS:
                masked[key] = value
            else:
                masked[key] = mask_text(value) if value not in (None, "") else value
        return masked
    if isinstance(record, list):
        return [mask_record(item) for item in record]
    return mask_text(record)
