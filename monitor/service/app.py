"""The composition root: configuration in, every part built and wired once, for ``monitor
run`` (polling and delivering) and ``monitor serve`` (the web app alone) alike.
Nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import sniffio

from monitor.config import Config, FeedConfig
from monitor.errors import ConfigError
from monitor.extractor import ExtractorPool
from monitor.feeds.fetch import make_client
from monitor.feeds.guard import LinkGuard, host_port
from monitor.feeds.hosts import HostLimiter
from monitor.feeds.pages import Pages
from monitor.language import LanguageIdentifier
from monitor.language.understand import Understanding, default_understanding, understanding
from monitor.notify.channels import Channels, Echo
from monitor.notify.sender import Sender
from monitor.notify.settings import load_monitor_file
from monitor.pipeline import Services
from monitor.rules import Matcher, RuleSet, compile_rules, load_rules
from monitor.rules.reload import RuleWatcher
from monitor.sources import Net, load_feeds
from monitor.store import repository as repo
from monitor.store.db import make_engine, session_factory, upgrade
from monitor.store.maintenance import release_leases
from monitor.stories.embed import embedder

log = logging.getLogger(__name__)

POSTGRES_DB_THREADS = 4
SERVE_CONNECTIONS = 2  # the web app alone fetches only the playground's pages


@dataclass(frozen=True)
class StartupNotes:
    """What start-up found wrong but survived; the CLI shows it."""

    rule_problems: list[str]
    unknown_channels: list[str]
    rules: RuleSet


@dataclass
class App:
    """Everything built at start-up, for the scheduler, a cycle and the web app."""

    config: Config
    services: Services
    sender: Sender
    notes: StartupNotes
    watcher: RuleWatcher

    def reload_rules(self) -> Matcher:
        """The live matcher, swapped first if a rule file changed (``monitor serve`` asks
        on use; the service polls on a timer)."""
        fresh = self.watcher.poll()
        if fresh is not None:
            self.services.matcher = fresh  # polls read it per article: the swap is atomic
        return self.services.matcher

    def digest_channels(self) -> list[str]:
        return digest_channels(self.config, self.sender)


def digest_channels(config: Config, sender: Sender) -> list[str]:
    """Channels that get digests: the configured ones and those rules name (in stdout mode
    the digest is printed)."""
    named: set[str] = set(config.channels) | set(sender.settings.channels)
    with suppress(ConfigError):
        named |= {n for rule in load_rules(config.rules_dir).rules for n in rule.notify}
    return sorted(named - {"admin"})


def understanding_for(config: Config) -> Understanding:
    """The shipped lexicon and gazetteer, with the operator's additions if any."""
    if config.lexicon_path is None and config.sites_path is None:
        return default_understanding()
    return understanding(config.lexicon_path, config.sites_path)


def load_rule_set(config: Config) -> RuleSet:
    rules = load_rules(config.rules_dir)
    if not rules.rules:
        problems = "\n".join(str(p) for p in rules.problems) or f"{config.rules_dir}: no rule files"
        raise ConfigError(f"no usable rules:\n{problems}")
    return rules


def make_sender(config: Config, echo: Echo) -> Sender:
    settings = load_monitor_file(config.config_path, required=config.config_required)
    templates = str(config.templates_dir) if config.templates_dir else None
    return Sender(
        Channels(config.channels), echo, settings, templates=templates, base_url=config.web.base_url
    )


def db_threads(dialect: str) -> int:
    """SQLite takes one writer at a time (two would fail each other's lock upgrades);
    PostgreSQL's row locks let a few polls store at once, within SQLAlchemy's pool of 5."""
    return 1 if dialect == "sqlite" else POSTGRES_DB_THREADS


@asynccontextmanager
async def open_services(config: Config, echo: Echo, *, serve: bool = False) -> AsyncIterator[App]:
    """Build the service. ``serve``: for the web app alone, which neither polls nor owns
    the feeds table (a running service may share the database)."""
    feeds: list[FeedConfig] = [] if serve else load_feeds(config.feeds_path)
    rules = load_rule_set(config)
    sender = make_sender(config, echo)
    sender.channels.check()
    wanted = sorted({name for rule in rules.rules for name in rule.notify})
    notes = StartupNotes([str(p) for p in rules.problems], sender.channels.unknown(wanted), rules)
    engine = make_engine(config.database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    if not serve:
        with sessions.begin() as session:
            if engine.dialect.name == "sqlite":  # we hold the single-process lock
                release_leases(session)
            repo.sync_feeds(session, feeds)
    fetch = config.fetch
    # httpcore's locks, and anyio under them, ask sniffio which async library runs several
    # times per request; told here, for every task started from this one, it answers
    # without looking up the current task.
    library = sniffio.current_async_library_cvar.set("asyncio")
    # Article links, and the hops of a feed's redirects, may reach private addresses only
    # on a configured feed's own host:port or the operator's allow-list; the guarded
    # clients enforce that at connect time too.
    allowed = set(fetch.allow) | {host_port(f.url) for f in feeds}
    connections = SERVE_CONNECTIONS if serve else fetch.concurrency
    feed_client = make_client(fetch.user_agent, connections, allowed=allowed, guard_connect=True)
    page_client = make_client(fetch.user_agent, connections, guarded=True, allowed=allowed)
    workers = 1 if serve else config.extract.workers
    extractor = ExtractorPool(workers, config.extract.timeout, config.extract.memory_mb).start()
    limiter = HostLimiter(fetch.per_host, fetch.host_delay)
    guard = LinkGuard(fetch.allow)
    stories = sender.settings.stories
    services = Services(
        config=config,
        sessions=sessions,
        net=Net(feed_client, limiter, fetch, guard),
        pages=Pages(page_client, limiter, guard, fetch, extractor.extract),
        matcher=compile_rules(rules.rules),
        identifier=LanguageIdentifier(config.languages),
        understanding=understanding_for(config),
        stories=(stories.window, stories.similarity),
        links=stories.links(),
        embedder=None if serve else embedder(stories.embedder),
        corrections=frozenset(
            name for name, channel in sender.settings.channels.items() if channel.corrections
        ),
        db_threads=db_threads(engine.dialect.name),
    )
    try:
        yield App(config, services, sender, notes, RuleWatcher(config.rules_dir, rules))
    finally:
        await feed_client.aclose()
        await page_client.aclose()
        extractor.close()
        services.close()  # transactions under way finish first
        engine.dispose()
        sniffio.current_async_library_cvar.reset(library)
