"""Who may see the dashboard: a bearer token (scripts), a signed session cookie after the
sign-in page (people), and CSRF tokens for the few writing actions.

Only /healthz is open: the pages show internal rules and sources."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from monitor.config.web import SESSION_MAX_AGE, WebSettings, verify_password

COOKIE = "monitor_session"
TOKEN_USER = "token"  # the name a token sign-in gets


class NotSignedIn(Exception):
    """Raised by ``current_user``; pages turn it into a redirect, the API into a 401."""


class Auth:
    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self._cookies = URLSafeTimedSerializer(settings.secret, salt="session")

    def check_password(self, user: str, password: str) -> str | None:
        """The signed-in name, or None."""
        token = self.settings.token
        if not user and token and hmac.compare_digest(password.encode(), token.encode()):
            return TOKEN_USER
        hashed = self.settings.users.get(user)
        if hashed and verify_password(password, hashed):
            return user
        return None

    def session_cookie(self, user: str) -> str:
        return self._cookies.dumps({"user": user})

    def current_user(self, request: Request) -> str:
        if self.settings.open:
            return "local"
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        token = self.settings.token
        if scheme.lower() == "bearer" and token:
            if hmac.compare_digest(given.strip().encode(), token.encode()):
                return TOKEN_USER
            raise NotSignedIn("wrong bearer token")
        cookie = request.cookies.get(COOKIE)
        if cookie:
            try:
                return str(self._cookies.loads(cookie, max_age=SESSION_MAX_AGE)["user"])
            except (BadSignature, KeyError, TypeError):
                pass
        raise NotSignedIn("sign in first")

    def csrf_token(self, user: str) -> str:
        return hmac.new(self.settings.secret, f"csrf|{user}".encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, request: Request, user: str, given: str) -> None:
        """Cookie-authenticated writes need the form's token; bearer calls carry no cookie
        a foreign page could ride on."""
        if request.headers.get("authorization", "").lower().startswith("bearer "):
            return
        if not hmac.compare_digest(given.encode(), self.csrf_token(user).encode()):
            raise HTTPException(403, "CSRF token missing or wrong: reload the page and retry")


def signed_in_user(request: Request) -> str:
    """The FastAPI dependency every route but /healthz and /login hangs on."""
    auth: Auth = request.app.state.auth
    return auth.current_user(request)
