"""Who may see the dashboard: a bearer token (scripts), a signed session cookie after the
sign-in page (people), and CSRF tokens for the few writing actions.

Only /healthz and /readyz are open (they say nothing but ok or what is not ready): the
pages show internal rules and sources."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from monitor.config.web import SESSION_MAX_AGE, WebSettings, unknown_user_hash, verify_password

COOKIE = "monitor_session"
TOKEN_USER = "token"  # the name a token sign-in gets


class NotSignedIn(Exception):
    """Raised by ``current_user``; pages turn it into a redirect, the API into a 401."""


class Auth:
    def __init__(
        self,
        settings: WebSettings,
        revoked: Callable[[str], bool] = lambda sid: False,
        revoke: Callable[[str], None] = lambda sid: None,
    ) -> None:
        self.settings = settings
        self._cookies = URLSafeTimedSerializer(settings.secret, salt="session")
        self._revoked = revoked  # session ids signed out (kept in the database)
        self._revoke = revoke

    def check_password(self, user: str, password: str) -> str | None:
        """The signed-in name, or None. A name that does not exist costs a password check
        all the same, so timing does not tell which names exist."""
        token = self.settings.token
        if not user and token and hmac.compare_digest(password.encode(), token.encode()):
            return TOKEN_USER
        hashed = self.settings.users.get(user)
        if verify_password(password, hashed or unknown_user_hash()) and hashed:
            return user
        return None

    def session_cookie(self, user: str) -> str:
        return self._cookies.dumps({"user": user, "sid": secrets.token_hex(16)})

    def _session(self, request: Request) -> dict[str, str] | None:
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        try:
            data = self._cookies.loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict) or "user" not in data or "sid" not in data:
            return None
        return None if self._revoked(str(data["sid"])) else data

    def bearer_user(self, request: Request) -> str | None:
        """TOKEN_USER when the request carries the right bearer token; NotSignedIn for a
        wrong one; None when it carries none (or no token is configured)."""
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        token = self.settings.token
        if scheme.lower() != "bearer" or not token:
            return None
        if hmac.compare_digest(given.strip().encode(), token.encode()):
            return TOKEN_USER
        raise NotSignedIn("wrong bearer token")

    def current_user(self, request: Request) -> str:
        if self.settings.open:
            return "local"
        bearer = self.bearer_user(request)
        if bearer is not None:
            return bearer
        session = self._session(request)
        if session is not None:
            return str(session["user"])
        raise NotSignedIn("sign in first")

    def sign_out(self, request: Request) -> None:
        """The session stops working here and on every replica, whoever kept its cookie."""
        session = self._session(request)
        if session is not None:
            self._revoke(str(session["sid"]))

    def csrf_token(self, user: str) -> str:
        return hmac.new(self.settings.secret, f"csrf|{user}".encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, request: Request, user: str, given: str) -> None:
        """Every write but one authenticated by the right bearer token needs the form's token
        (a bearer call carries no cookie a foreign page could ride on; a wrong or unused
        bearer header proves nothing)."""
        if not self.settings.open and self.bearer_user(request) == TOKEN_USER:
            return
        if not hmac.compare_digest(given.encode(), self.csrf_token(user).encode()):
            raise HTTPException(403, "CSRF token missing or wrong: reload the page and retry")


def signed_in_user(request: Request) -> str:
    """The FastAPI dependency every route but /healthz and /login hangs on."""
    auth: Auth = request.app.state.auth
    return auth.current_user(request)
