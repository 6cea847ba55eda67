"""The parts of an email address that tell a slip from another person's address.

'maria.virtnen@gmail.com' for 'maria.virtanen@gmail.com' is one letter off at the same provider,
and 'virtanen.maria@' the same words in another order: both the same person's address typed
differently. 'maria.virtanen2@' is not a slip but another account (a namesake's, often), so a
difference in digits or separators never counts as one letter off.
"""

from __future__ import annotations

import pandas as pd

from transforms.standardise.text import per_unique

EMAIL_PARTS = ("email_domain", "email_words", "email_marks")


def email_words(local: str) -> str | None:
    """The words of a user part in sorted order, for two or more words: the same for a reordered one."""
    words = [w for w in local.replace("_", ".").replace("-", ".").split(".") if w]
    return " ".join(sorted(words)) if len(words) >= 2 else None


def with_email_parts(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` with ``EMAIL_PARTS``: provider; the user part's words in sorted order (two or more
    words); its digits and separators in order."""
    out = records.copy()
    out["email_domain"] = per_unique(records["email"], lambda e: e.rsplit("@", 1)[-1])
    out["email_words"] = per_unique(records["email_local"], email_words)
    out["email_marks"] = per_unique(records["email_local"], lambda s: "".join(c for c in s if not c.isalpha()))
    return out
