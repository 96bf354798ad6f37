"""Serving the app: inside `monitor run --http` (the service owns the signals) or alone
(`monitor serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator

import uvicorn
from fastapi import FastAPI

from monitor.config import Config
from monitor.config.web import DEFAULT_HTTP_PORT
from monitor.errors import ConfigError
from monitor.service.app import App
from monitor.web.runtime import Runtime

log = logging.getLogger(__name__)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def listen_address(value: str, config: Config) -> tuple[str, int]:
    """`:8080`, `0.0.0.0:8080` or `host`; without credentials, 127.0.0.1 whatever was asked."""
    host, _, port = value.rpartition(":") if ":" in value else (value, "", "")
    try:
        number = int(port) if port else DEFAULT_HTTP_PORT
    except ValueError:
        raise ConfigError(f"--http/MONITOR_HTTP: {value!r} is not [host]:port") from None
    host = host.strip("[]") or "0.0.0.0"
    if config.web.open and host not in LOOPBACK:
        log.warning(
            "no MONITOR_WEB_TOKEN or MONITOR_WEB_USERS: the web app listens on 127.0.0.1 "
            "only, not %s, so a published container port shows nothing; set one of them "
            "(a token, or users made with `monitor web hash-password`) to open it",
            host,
        )
        host = "127.0.0.1"
    return host, number


class _Embedded(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # `monitor run` handles SIGTERM/SIGINT and stops us through should_exit


def _uvicorn(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)


async def serve_until(app: FastAPI, host: str, port: int, stop: asyncio.Event) -> None:
    server = _Embedded(_uvicorn(app, host, port))
    task = asyncio.ensure_future(server.serve())
    await asyncio.wait([task, asyncio.ensure_future(stop.wait())], return_when="FIRST_COMPLETED")
    server.should_exit = True
    await task


async def serve_alone(app: FastAPI, host: str, port: int) -> None:
    await uvicorn.Server(_uvicorn(app, host, port)).serve()


def runtime_for(
    app: App,
    running: Callable[[], bool] = lambda: True,
    pushed: Callable[[], None] = lambda: None,
) -> Runtime:
    """What the web app needs of a built service: its database, the live rules and the
    guarded page fetcher (``monitor serve`` has no scheduler to wait on or wake)."""
    return Runtime(
        config=app.config,
        sessions=app.services.sessions,
        matcher=app.reload_rules,
        fetch_page=app.services.pages.text,
        scheduler_running=running,
        pushed=pushed,
    )
