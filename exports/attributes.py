"""The hub's attribute names that notices carry, and reading a corrected birth date without echoing it."""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from quality.contract import IDENTITY_KINDS


def as_date(value: Any) -> date | None:
    """A date from a date, a datetime or ISO text; the error never repeats the value (it is personal)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError("birth_date is not an ISO date") from None


def known(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` as a dict, refusing names that are not the hub's attributes (a caller's typo would
    otherwise be silently ignored like an attribute the tool does not hold)."""
    unknown = sorted(set(changes) - set(IDENTITY_KINDS))
    if unknown:
        raise ValueError(f"not hub attributes: {', '.join(unknown)}")
    return dict(changes)
