"""Start-up wiring: configuration in, a ready ``Services`` out. Nothing at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import sniffio

from monitor.config import Config, load_feeds
from monitor.errors import ConfigError
from monitor.extractor import ExtractorPool
from monitor.feeds.fetch import make_client
from monitor.feeds.guard import LinkGuard, host_port
from monitor.feeds.hosts import HostLimiter
from monitor.notify.channels import Channels
from monitor.notify.deliver import Sender
from monitor.notify.settings import load_monitor_file
from monitor.pipeline import Services
from monitor.rules import RuleSet, compile_rules, load_rules
from monitor.store import repository as repo
from monitor.store.db import make_engine, session_factory, upgrade
from monitor.store.maintenance import release_leases

log = logging.getLogger(__name__)

POSTGRES_DB_THREADS = 4


@dataclass(frozen=True)
class StartupNotes:
    """What start-up found wrong but survived; the CLI shows it."""

    rule_problems: list[str]
    unknown_channels: list[str]
    rules: RuleSet


def load_rule_set(config: Config) -> RuleSet:
    rules = load_rules(config.rules_dir)
    if not rules.rules:
        problems = "\n".join(str(p) for p in rules.problems) or f"{config.rules_dir}: no rule files"
        raise ConfigError(f"no usable rules:\n{problems}")
    return rules


def make_sender(config: Config, echo: Callable[[str], None]) -> Sender:
    settings = load_monitor_file(config.config_path, required=config.config_required)
    templates = str(config.templates_dir) if config.templates_dir else None
    return Sender(
        Channels(config.channels), echo, settings, templates=templates, base_url=config.web.base_url
    )


def digest_channels(config: Config, sender: Sender) -> list[str]:
    """Channels that get digests: the configured ones and those rules name (in stdout mode
    the digest is printed)."""
    named: set[str] = set(config.channels) | set(sender.settings.channels)
    with suppress(ConfigError):
        named |= {n for rule in load_rules(config.rules_dir).rules for n in rule.notify}
    return sorted(named - {"admin"})


def db_threads(dialect: str) -> int:
    """SQLite takes one writer at a time (two would fail each other's lock upgrades);
    PostgreSQL's row locks let a few polls store at once, within SQLAlchemy's pool of 5."""
    return 1 if dialect == "sqlite" else POSTGRES_DB_THREADS


@asynccontextmanager
async def open_services(
    config: Config, echo: Callable[[str], None]
) -> AsyncIterator[tuple[Services, StartupNotes]]:
    feeds = load_feeds(config.feeds_path)
    rules = load_rule_set(config)
    channels = Channels(config.channels)
    wanted = sorted({name for rule in rules.rules for name in rule.notify})
    notes = StartupNotes([str(p) for p in rules.problems], channels.unknown(wanted), rules)
    engine = make_engine(config.database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        if engine.dialect.name == "sqlite":  # we hold the single-process lock: leases are stale
            release_leases(session)
        repo.sync_feeds(session, feeds)
    fetch = config.fetch
    # httpcore's locks, and anyio under them, ask sniffio which async library runs several
    # times per request; told here, for every task started from this one, it answers
    # without looking up the current task (pure Python in Python 3.11).
    library = sniffio.current_async_library_cvar.set("asyncio")
    # Article links may reach private addresses only on a feed's own host:port or the
    # operator's allow-list; the guarded client enforces that at connect time.
    allowed = set(fetch.allow) | {host_port(f.url) for f in feeds}
    feed_client = make_client(fetch.user_agent, fetch.concurrency)
    page_client = make_client(fetch.user_agent, fetch.concurrency, guarded=True, allowed=allowed)
    extractor = ExtractorPool(
        config.extract.workers, config.extract.timeout, config.extract.memory_mb
    ).start()
    services = Services(
        config=config,
        sessions=sessions,
        feed_client=feed_client,
        page_client=page_client,
        limiter=HostLimiter(fetch.per_host, fetch.host_delay),
        guard=LinkGuard(fetch.allow),
        matcher=compile_rules(rules.rules),
        sender=make_sender(config, echo),
        extract=extractor.extract,
        db_threads=db_threads(engine.dialect.name),
    )
    try:
        yield services, notes
    finally:
        await feed_client.aclose()
        await page_client.aclose()
        extractor.close()
        services.db_thread.shutdown(wait=True)  # transactions under way finish first
        engine.dispose()
        sniffio.current_async_library_cvar.reset(library)
