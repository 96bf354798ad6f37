"""What every request and response goes through, whoever is signed in:

- the ``Host`` must be one the dashboard is reached at (the configured base URL's, or
  loopback when no credential is set), so a page that rebinds its own DNS name to
  127.0.0.1 reads nothing;
- a state-changing request from another site is refused (``Sec-Fetch-Site`` and
  ``Origin``), on top of the CSRF token, so the open dashboard cannot be driven by a page;
- every response carries the security headers (no framing, no sniffing, no referrer to
  other sites, a content security policy of the app's own origin only);
- sign-in attempts are limited per address and per user name.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.responses import PlainTextResponse

from monitor.config.web import WebSettings

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAME_SITE = frozenset({"same-origin", "none"})
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # not no-referrer: with it browsers send "Origin: null" on the app's own form posts
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
SIGN_IN_ATTEMPTS = 10  # failed sign-ins per address, and per user name, in the window
SIGN_IN_WINDOW = 300.0  # seconds
Next = Callable[[Request], Awaitable[Response]]


def allowed_hosts(settings: WebSettings) -> frozenset[str] | None:
    """Host names the app answers to; None: any (credentials protect it, and the public
    name is not configured)."""
    named = {urlsplit(settings.base_url).hostname or ""} if settings.base_url else set()
    if settings.open:
        return frozenset(LOOPBACK_HOSTS | named)
    return frozenset(LOOPBACK_HOSTS | named) if named else None


def host_of(value: str) -> str:
    """``example.org:8080`` or ``[::1]:8080`` -> the host name, lower case."""
    try:
        return (urlsplit(f"//{value}").hostname or "").lower()
    except ValueError:
        return ""


class RequestGuard:
    def __init__(self, settings: WebSettings) -> None:
        self.hosts = allowed_hosts(settings)

    async def __call__(self, request: Request, call_next: Next) -> Response:
        refusal = self.refusal(request)
        response = PlainTextResponse(refusal, 403) if refusal else await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def refusal(self, request: Request) -> str | None:
        if self.hosts is not None and host_of(request.headers.get("host", "")) not in self.hosts:
            return "unknown Host: open the dashboard at its configured address"
        if request.method in WRITES and not self.same_site(request):
            return "cross-site request refused"
        return None

    @staticmethod
    def same_site(request: Request) -> bool:
        """A browser says where a request comes from in Sec-Fetch-Site (pages cannot set
        it); older ones only in Origin."""
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site is not None:
            return fetch_site.lower() in SAME_SITE
        origin = request.headers.get("origin")
        if origin is None:
            return True  # not a browser's cross-site form or fetch (they send Origin)
        if origin == "null":
            return False
        own = request.headers.get("host", "").lower()
        return urlsplit(origin).netloc.lower() == own


class SignInLimiter:
    """Failed sign-ins counted per client address and per user name in a sliding window;
    past the limit, sign-in answers 429 until the window has moved on."""

    def __init__(self, attempts: int = SIGN_IN_ATTEMPTS, window: float = SIGN_IN_WINDOW) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures[key]
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def blocked(self, address: str, user: str) -> bool:
        now = time.monotonic()
        keys = (f"addr:{address}", f"user:{user.lower()}")
        return any(len(self._recent(k, now)) >= self.attempts for k in keys)

    def failed(self, address: str, user: str) -> None:
        now = time.monotonic()
        for key in (f"addr:{address}", f"user:{user.lower()}"):
            self._recent(key, now).append(now)
        if len(self._failures) > 10_000:  # an address sweep must not grow this forever
            for key in [k for k, v in self._failures.items() if not self._recent(k, now)]:
                del self._failures[key]
