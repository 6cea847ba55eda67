"""Rectification (Art. 16): the corrected value, validated, wins over the systems at once.

The correction is stored with fingerprints of what each source record says now (see
``transforms.rectification``), the golden record changes immediately, and the next pipeline runs
keep it until a system changes the value itself.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa

from hub.gdpr.locate import Person
from hub.pseudonym import fingerprint_with
from hub.schema import golden_customer, golden_lineage, rectification, source_record
from hub.storage import read_frame, replace_row
from quality.canonical import normalise_email, normalise_phone
from quality.contract import IDENTITY_KINDS
from transforms.rectification import fingerprints
from transforms.standardise.names import clean_name


class InvalidCorrection(ValueError):
    """The corrected value is not a valid value of its attribute (the message names only the attribute)."""


def clean(attribute: str, value: str) -> str:
    """The corrected value in the form the golden record keeps."""
    if attribute not in IDENTITY_KINDS:
        raise InvalidCorrection(f"cannot rectify {attribute!r}; one of {', '.join(IDENTITY_KINDS)}")
    cleaners = {
        "email": normalise_email,
        "phone": normalise_phone,
        "birth_date": lambda v: date.fromisoformat(v).isoformat(),
        "first_name": clean_name,
        "last_name": clean_name,
    }
    try:
        cleaned = cleaners.get(attribute, lambda v: v.strip() or None)(value)
    except ValueError:
        cleaned = None
    if not cleaned:
        raise InvalidCorrection(f"the corrected {attribute} is not valid")
    return cleaned


def rectify(
    connection: sa.Connection, person: Person, key: bytes, request_id: str, changes: dict[str, str]
) -> list[str]:
    """Record and apply the corrections to the person's golden record; returns the attributes changed."""
    (customer,) = person.customer_ids
    cleaned = {attribute: clean(attribute, value) for attribute, value in changes.items()}
    records = read_frame(
        connection, sa.select(source_record).where(source_record.c.unique_id.in_(list(person.records)))
    )
    now = datetime.now(UTC)
    fingerprint = fingerprint_with(key)
    for attribute, value in cleaned.items():
        replace_row(
            connection,
            rectification,
            {"customer_id": customer, "attribute": attribute},
            {
                "value": value,
                "rectified_at": now,
                "request_id": request_id,
                "source_fingerprints": json.dumps(fingerprints(records, attribute, fingerprint), sort_keys=True),
            },
        )
        golden_value = pd.Timestamp(value).date() if attribute == "birth_date" else value
        connection.execute(
            sa.update(golden_customer)
            .where(golden_customer.c.customer_id == customer)
            .values({attribute: golden_value, "updated_at": now})
        )
        replace_row(
            connection,
            golden_lineage,
            {"customer_id": customer, "attribute": attribute},
            {
                "source_system": "dsr",
                "source_key": request_id,
                "source_updated_at": now,
                "rule": "rectification",
                "candidates": len(records) + 1,
            },
        )
    return sorted(cleaned)


def corrected_values(connection: sa.Connection, customer_id: str, attributes: list[str]) -> dict[str, str]:
    rows = read_frame(
        connection,
        sa.select(rectification.c.attribute, rectification.c.value).where(
            rectification.c.customer_id == customer_id, rectification.c.attribute.in_(attributes)
        ),
    )
    return dict(zip(rows["attribute"], rows["value"], strict=True))
