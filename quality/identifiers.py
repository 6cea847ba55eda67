"""A person's identifiers in one canonical form, and their keyed hashes.

Suppression entries, audit entries and the receipts of erasure notices must name a person without
holding their identifiers. They hold an HMAC-SHA256 of the canonical identifier under the hub's
secret key instead: the same person always gives the same reference, and nobody without the key can
test a guessed email address against it.
"""

from __future__ import annotations

import hashlib
import hmac

from quality.canonical import normalise_email, normalise_phone

IDENTIFIER_KINDS = ("email", "phone", "record", "customer")


def canonical(kind: str, value: object) -> str | None:
    """The identifier as the hub compares it: emails validated and lower-cased, phones in E.164.

    A record is ``system:key`` (``erp:C0100234``); a customer is its ID. None when there is none.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if kind == "email":
        return normalise_email(text) or text.lower()
    if kind == "phone":
        return normalise_phone(text)
    if kind in ("record", "customer"):
        return text
    raise ValueError(f"unknown identifier kind {kind!r}")


def keyed_hash(key: bytes, kind: str, value: object) -> str | None:
    """HMAC-SHA256 (hex) of the canonical identifier, or None when the value is no identifier."""
    text = canonical(kind, value)
    if text is None:
        return None
    return hmac.new(key, f"{kind}:{text}".encode(), hashlib.sha256).hexdigest()
