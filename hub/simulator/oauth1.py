"""One-legged OAuth 1.0a as WooCommerce checks it on plain-HTTP requests.

WooCommerce's own REST client signs the query string (HMAC-SHA1 or HMAC-SHA256, the consumer
secret plus '&' as key) instead of sending Basic credentials over an unencrypted connection.
The server rebuilds the signature base string the way WooCommerce's PHP does and compares.
Two encodings are accepted for the parameters: PHP's rawurlencode and Python's `quote` (which
leaves '/' alone), because the official Python client signs with the latter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from urllib.parse import quote, unquote

MAX_AGE_SECONDS = 15 * 60
_ALGORITHMS = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}


class NonceRegister:
    """Nonces seen in the last 15 minutes: a replayed signed URL is refused, as WooCommerce does."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_use(self, nonce: str, now: float) -> bool:
        with self._lock:
            for old in [n for n, t in self._seen.items() if t < now - MAX_AGE_SECONDS]:
                del self._seen[old]
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


def signature(method: str, base_url: str, params: dict[str, str], secret: str, algorithm: str, safe: str) -> str:
    """The base64 signature of a request whose (decoded) query parameters are `params`."""

    def encode(text: str) -> str:
        return quote(unquote(text), safe=safe).replace("%", "%25")

    pairs = sorted((k, v) for k, v in params.items() if k != "oauth_signature")
    query = "%26".join(f"{encode(k)}%3D{encode(v)}" for k, v in pairs)
    base = f"{method.upper()}&{quote(base_url, safe='')}&{query}"
    digest = hmac.new(f"{secret}&".encode(), base.encode(), _ALGORITHMS[algorithm]).digest()
    return base64.b64encode(digest).decode()


def verify(
    method: str, base_url: str, params: dict[str, str], consumer_key: str, consumer_secret: str, nonces: NonceRegister
) -> str | None:
    """None when the request is properly signed by the consumer, else WooCommerce's reason."""
    for required in (
        "oauth_consumer_key",
        "oauth_signature",
        "oauth_signature_method",
        "oauth_timestamp",
        "oauth_nonce",
    ):
        if not params.get(required):
            return f"Missing OAuth parameter {required}."
    if not hmac.compare_digest(params["oauth_consumer_key"], consumer_key):
        return "Consumer key is invalid."
    algorithm = params["oauth_signature_method"]
    if algorithm not in _ALGORITHMS:
        return "Signature method is invalid."
    given = params["oauth_signature"].replace(" ", "+")
    expected = {signature(method, base_url, params, consumer_secret, algorithm, safe) for safe in ("", "/")}
    if not any(hmac.compare_digest(given, e) for e in expected):
        return "Invalid signature - provided signature does not match."
    now = time.time()
    try:
        stamp = int(params["oauth_timestamp"])
    except ValueError:
        return "Invalid timestamp."
    if stamp < now - MAX_AGE_SECONDS:
        return "Invalid timestamp."
    if not nonces.first_use(f"{consumer_key}:{params['oauth_nonce']}", now):
        return "Invalid nonce - nonce has already been used."
    return None
