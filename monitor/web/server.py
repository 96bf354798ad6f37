"""Serving the app: inside `monitor run --http` (the service owns the signals) or alone
(`monitor serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from functools import partial

import uvicorn
from fastapi import FastAPI

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.extract import ExtractedPage
from monitor.extractor import ExtractorPool
from monitor.feeds.fetch import fetch, make_client
from monitor.feeds.guard import LinkGuard
from monitor.feeds.hosts import HostLimiter
from monitor.pipeline import Services
from monitor.rules import Matcher
from monitor.rules.reload import RuleWatcher
from monitor.store.db import make_engine, session_factory, upgrade
from monitor.web.runtime import Runtime
from monitor.web.settings import DEFAULT_HTTP_PORT

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
            "only, not %s",
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


async def _fetch_page(svc: Services, url: str) -> ExtractedPage | None:
    """A URL typed into the playground: the same guarded client and limits as article
    pages, but no feed origin, so only public addresses (or the allow-list)."""
    settings = svc.config.fetch
    page = await fetch(
        svc.page_client,
        url,
        max_bytes=settings.max_page_bytes,
        deadline=settings.timeout,
        limiter=svc.limiter,
        check=lambda hop: svc.guard.check(hop, None),
    )
    return await svc.extract(page.content, page.url)


def service_runtime(svc: Services, running: object) -> Runtime:
    return Runtime(
        config=svc.config,
        sessions=svc.sessions,
        matcher=lambda: svc.matcher,
        fetch_page=partial(_fetch_page, svc),
        scheduler_running=lambda: bool(getattr(running, "running", False)),
    )


@contextlib.asynccontextmanager
async def standalone_runtime(config: Config) -> AsyncIterator[Runtime]:
    """`monitor serve`: the database, the live rules and a guarded page client, no scheduler."""
    from monitor.app import load_rule_set, make_sender
    from monitor.rules import compile_rules

    rules = load_rule_set(config)
    watcher = RuleWatcher(config.rules_dir, rules)
    state = {"matcher": compile_rules(rules.rules)}

    def matcher() -> Matcher:
        fresh = watcher.poll()
        if fresh is not None:
            state["matcher"] = fresh
        return state["matcher"]

    engine = make_engine(config.database_url)
    upgrade(engine)
    fetch_settings = config.fetch
    client = make_client(fetch_settings.user_agent, 2, guarded=True, allowed=fetch_settings.allow)
    pool = ExtractorPool(1, config.extract.timeout, config.extract.memory_mb).start()
    svc = Services(
        config=config,
        sessions=session_factory(engine),
        feed_client=client,
        page_client=client,
        limiter=HostLimiter(fetch_settings.per_host, fetch_settings.host_delay),
        guard=LinkGuard(fetch_settings.allow),
        matcher=state["matcher"],
        sender=make_sender(config, lambda _: None),
        extract=pool.extract,
    )
    try:
        yield Runtime(
            config=config,
            sessions=svc.sessions,
            matcher=matcher,
            fetch_page=partial(_fetch_page, svc),
            scheduler_running=lambda: True,
        )
    finally:
        await client.aclose()
        pool.close()
        engine.dispose()
