"""A digest of code and the settings it runs with: a stored result made with another digest is stale.

Why: the incremental steps keep, per record or customer, a fingerprint of what made its result; folding
the code in means an upgrade redoes everything once instead of leaving results of the older code.
"""

from __future__ import annotations

import hashlib
import inspect
from types import ModuleType


def code_digest(modules: tuple[ModuleType, ...], *extra: str) -> str:
    """A short digest of the modules' source and of ``extra`` (library versions, settings as text)."""
    parts = [inspect.getsource(m) for m in modules] + list(extra)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
