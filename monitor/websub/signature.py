"""X-Hub-Signature: the HMAC of a pushed body with the subscription's secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

# What WebSub allows; sha1 only because older hubs still send it.
ALGORITHMS: dict[str, Callable[..., Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


def new_secret() -> str:
    return secrets.token_hex(32)  # 64 characters: under the spec's 200 bytes


def new_key() -> str:
    return secrets.token_urlsafe(24)  # the callback's last segment: not guessable


def sign(secret: str, body: bytes, method: str = "sha256") -> str:
    return f"{method}={hmac.new(secret.encode(), body, ALGORITHMS[method]).hexdigest()}"


def signed(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` (``method=hex``) is the body's HMAC with ``secret``."""
    method, _, given = (header or "").strip().partition("=")
    digest = ALGORITHMS.get(method.lower())
    if digest is None or not given:
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())
