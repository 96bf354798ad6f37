"""What the web app needs from the rest of the service, whichever process it runs in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from monitor.config import Config
from monitor.extract import ExtractedPage
from monitor.rules import Matcher


@dataclass
class Runtime:
    config: Config
    sessions: sessionmaker[Session]
    matcher: Callable[[], Matcher]  # the live rules (reloaded as files change)
    fetch_page: Callable[[str], Awaitable[ExtractedPage | None]]  # SSRF-guarded
    scheduler_running: Callable[[], bool] = lambda: True  # `serve` has no scheduler to wait on
    pushed: Callable[[], None] = lambda: None  # a hub's body was kept: poll its feed now
