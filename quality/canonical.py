"""The one canonical form of each identifier: the lowest layer, so that every other layer compares alike.

Emails and phone numbers are checked and normalised by the libraries that know their rules; text is
repaired of broken encodings first. The suppression list, pseudonyms, matching, rectification and the
ad platforms' hashed lists all use these forms.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

DEFAULT_REGION = "FI"
_SPACES = re.compile(r"\s+")


def repair(text: str) -> str:
    """Undo mojibake ('HÃ¤meenkatu' -> 'Hämeenkatu') and collapse whitespace. ftfy is imported on the first text
    that needs it (a tenth of a second or more): a request naming someone by an ASCII email never does."""
    if text.isascii():
        return _SPACES.sub(" ", text).strip()
    import ftfy

    return _SPACES.sub(" ", ftfy.fix_text(text, normalization="NFC")).strip()


def normalise_email(value: str) -> str | None:
    """Trimmed, lower-cased and syntax-checked (no network); None when it is no email address."""
    text = repair(value).lower()
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def email_local_part(email: str) -> str:
    """'matti.virtanen+shop@gmail.com' -> 'matti.virtanen': the part people reuse across providers."""
    return email.split("@", 1)[0].split("+", 1)[0]


def normalise_phone(value: str, region: str = DEFAULT_REGION) -> str | None:
    """Any way people write a number -> E.164 ('+358401234567'); None when it is no valid number."""
    try:
        number = phonenumbers.parse(repair(value), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
