"""JSON text exactly as the HTTP systems store and serve it.

Documents are stored pre-encoded so that a page of a listing is a string join, not a re-encode;
compact separators and real UTF-8 (no \\u escapes) keep a million documents small.
"""

from __future__ import annotations

import json
from typing import Any

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)

dumps = _ENCODER.encode


def loads(text: str) -> Any:
    return json.loads(text)


def array(documents: list[str]) -> str:
    """A JSON array of already-encoded documents."""
    return "[" + ",".join(documents) + "]"
