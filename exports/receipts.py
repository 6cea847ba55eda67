"""What a tool was told and how it answered: one receipt per target of a notice.

A receipt is the hub's evidence that an erasure or a rectification reached a tool (or that the tool
no longer held the person, which reaches the same goal). ``target`` is the tool's key of the person,
personal data in its own right: it is kept apart from ``detail`` so that the caller can pseudonymise
it before storing, and it is left out of ``repr`` so that a logged receipt does not carry it.
``detail`` only ever holds what the tool's transport said (HTTP status, error code, answer id) or the
name and SHA-256 of the file written, never the values sent.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

Action = Literal["delete", "update"]
Status = Literal["sent", "absent", "failed"]

SENT: Status = "sent"
ABSENT: Status = "absent"
FAILED: Status = "failed"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Receipt:
    """One notice to one tool about one of its records."""

    system: str  # the hub's name of the tool: 'esp', 'webshop' or 'loyalty'
    action: Action
    target: str = field(repr=False)  # the tool's key, as in mdm.customer_xref.source_key
    status: Status  # 'sent'; 'absent' (the tool did not hold it: the goal is reached); 'failed'
    detail: str
    at: datetime = field(default_factory=utc_now)

    @property
    def settled(self) -> bool:
        """Whether the tool now holds what the hub asked for (nothing to try again)."""
        return self.status != FAILED
