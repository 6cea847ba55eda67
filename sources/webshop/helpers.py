"""Shaping WooCommerce objects for landing."""

from __future__ import annotations

from typing import Any

NEWSLETTER_KEYS = ("newsletter_opt_in", "newsletter_opt_in_at")


def with_newsletter_fields(customer: Any) -> Any:
    """Lift the newsletter opt-in out of ``meta_data`` into columns; ``meta_data`` stays as is.

    Anything that is not an object passes untouched, to be quarantined by the landing step."""
    if not isinstance(customer, dict):
        return customer
    meta = {m.get("key"): m.get("value") for m in customer.get("meta_data") or [] if isinstance(m, dict)}
    return {**customer, **{key: meta.get(key) or None for key in NEWSLETTER_KEYS}}
