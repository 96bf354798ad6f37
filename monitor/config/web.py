"""Web settings: who may sign in, and where the dashboard is reachable."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.errors import ConfigError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_MAX_AGE = 12 * 3600  # a desk shift; then sign in again
DEFAULT_HTTP_PORT = 8080


@dataclass(frozen=True)
class WebSettings:
    base_url: str | None = None
    token: str | None = None
    users: Mapping[str, str] = field(default_factory=dict)  # name -> scrypt hash
    secret: bytes = b""

    @property
    def open(self) -> bool:
        """No credential configured: the app must bind to 127.0.0.1 only."""
        return not self.token and not self.users

    @classmethod
    def derive(
        cls,
        base_url: str | None = None,
        token: str | None = None,
        users: Mapping[str, str] | None = None,
        secret: str | None = None,
    ) -> WebSettings:
        """The settings, with the signing key derived from ``secret`` or, without one, from
        the credentials, so replicas and restarts agree on it and changing a credential
        signs everyone out."""
        users = dict(users or {})
        if not (secret or token or users):
            # The open dashboard (no credential): a key of this process's own, so no page
            # anywhere can know its CSRF tokens.
            return cls(base_url=base_url, token=None, users={}, secret=os.urandom(32))
        key = secret or f"{token}|{sorted(users.items())}"
        return cls(
            base_url=base_url,
            token=token,
            users=users,
            secret=hashlib.sha256(b"monitor-web|" + key.encode()).digest(),
        )


def parse_base_url(_: str, value: str) -> str:
    return value.rstrip("/")


def parse_users(_: str, value: str) -> dict[str, str]:
    users = {}
    for entry in (e.strip() for e in value.split(",") if e.strip()):
        name, sep, hashed = entry.partition(":")
        if not sep or not name or not hashed.startswith("scrypt$"):
            raise ConfigError(
                f"MONITOR_WEB_USERS: {entry.split(':')[0]!r} needs name:scrypt$..., "
                "made by `monitor web hash-password`"
            )
        users[name] = hashed
    return users


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    encoded = [base64.b64encode(x).decode() for x in (salt, digest)]
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encoded[0]}${encoded[1]}"


@functools.cache
def unknown_user_hash() -> str:
    """Checked against when a user name is unknown, so a wrong name takes as long as a
    wrong password and the answer's timing does not tell which names exist."""
    return hash_password("not a password anyone has", b"0123456789abcdef")


def verify_password(password: str, hashed: str) -> bool:
    try:
        _, n, r, p, salt, digest = hashed.split("$")
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)
