"""The agreement levels of every compared feature, as a plain table.

Kept apart from ``features`` (which needs recordlinkage, and through it scikit-learn) so that code
that only names or explains levels (the stored model, the review screen, the golden tables, and
through them every data-subject request) starts without importing the comparison machinery.
"""

from __future__ import annotations

MISSING = -1  # the level of a pair where either record lacks the field: no evidence either way

# Level names, lowest agreement first: they label explanations and the review screen.
LEVELS: dict[str, tuple[str, ...]] = {
    "first_name": ("different", "nickname or close", "typo", "exact"),
    "last_name": ("different", "one part shared", "typo", "exact"),
    "email": ("different", "one letter off", "user part reordered", "exact"),
    "phone": ("different", "one digit off", "exact"),
    "birth": ("different", "day and month swapped", "same day and month", "exact"),
    "address": ("different", "another home, same postal code", "same postal code", "same building", "exact"),
}
