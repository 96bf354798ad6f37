"""Configuration from the environment, read once at start-up and passed down.

Every setting is one row of ``SETTINGS``: its variable, where it goes in ``Config``, its
default, its parser and its help. ``Config``'s defaults, ``Config.from_env``, ``monitor
settings`` and the README's table all come from these rows (a test fails when the README
differs), so a setting is written once.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config.durations import parse_duration
from monitor.config.web import WebSettings, parse_base_url, parse_users
from monitor.errors import ConfigError

CHANNEL_PREFIX = "MONITOR_CHANNEL_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")
Parse = Callable[[str, str], Any]  # (variable, raw text) -> value; raises ConfigError


def text(_: str, raw: str) -> str:
    return raw


def path(_: str, raw: str) -> Path:
    return Path(raw)


def number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a number") from None
    if value <= 0:
        raise ConfigError(f"{name}: must be greater than 0, got {raw!r}")
    return value


def whole(name: str, raw: str) -> int:
    return int(number(name, raw))


def duration(name: str, raw: str, *, zero_ok: bool = False) -> float:
    try:
        value = parse_duration(raw, bare_unit="s")
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a duration such as 30s, 10m or 6h") from None
    if value < 0 or (value == 0 and not zero_ok):
        raise ConfigError(f"{name}: must be greater than 0, got {raw!r}")
    return value


def duration_or_zero(name: str, raw: str) -> float:
    return duration(name, raw, zero_ok=True)


def host_list(_: str, raw: str) -> frozenset[str]:
    return frozenset(split(raw, lower=True))


def language_list(name: str, raw: str) -> tuple[str, ...]:
    codes = tuple(dict.fromkeys(split(raw, lower=True)))
    wrong = [c for c in codes if len(c) != 2 or not c.isalpha()]
    if wrong or not codes:
        raise ConfigError(f"{name}: {', '.join(wrong) or raw!r} is not a two-letter language code")
    return codes


def choice(*allowed: str, upper: bool = False) -> Parse:
    def parse(name: str, raw: str) -> str:
        value = raw.upper() if upper else raw.lower()
        if value not in allowed:
            raise ConfigError(
                f"{name}: {value!r} is not {', '.join(allowed[:-1])} or {allowed[-1]}"
            )
        return value

    return parse


@dataclass(frozen=True)
class Setting:
    env: str
    default: Any  # the value when the variable is unset or empty
    help: str
    parse: Parse = text
    to: str | None = None  # "section.field" in Config; None: read by its section itself
    shown: str | None = None  # the default as the README shows it, when not str(default)

    @property
    def shown_default(self) -> str:
        return self.shown if self.shown is not None else str(self.default or "")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "MONITOR_DATABASE_URL",
        "sqlite:///monitor.db",
        "SQLAlchemy URL of the database: `sqlite:///path.db` or "
        "`postgresql+psycopg://user:pass@host/db`.",
        to="database_url",
    ),
    Setting(
        "MONITOR_FEEDS",
        Path("./feeds.yaml"),
        "Path of the feeds file.",
        path,
        "feeds_path",
        "./feeds.yaml",
    ),
    Setting(
        "MONITOR_RULES",
        Path("./rules"),
        "Directory of rule files (`*.yaml`).",
        path,
        "rules_dir",
        "./rules",
    ),
    Setting(
        "MONITOR_CONFIG",
        Path("./monitor.yaml"),
        "Path of monitor.yaml: per-channel settings (`channels:`) and story grouping "
        "(`stories:`). Optional; a missing default file means defaults.",
        path,
        "config_path",
        "./monitor.yaml",
    ),
    Setting(
        "MONITOR_TEMPLATES",
        None,
        "Directory of Jinja2 templates that override the shipped alert and digest "
        "templates (same file names).",
        path,
        "templates_dir",
    ),
    Setting(
        "MONITOR_CHANNEL_<NAME>",
        None,
        "Defines channel `<name>` (lower-cased) as one or more comma-separated apprise "
        "URLs. Rules name channels in `notify:`; without `notify:` a rule uses `default`. "
        "With no channel at all, alerts are printed to standard output.",
    ),
    Setting(
        "MONITOR_FETCH_TIMEOUT",
        30.0,
        "Overall deadline for one HTTP request (connect, headers and body): a duration "
        "such as `30s` or `2m` (a bare number is seconds), like every duration setting.",
        duration,
        "fetch.timeout",
        "30s",
    ),
    Setting(
        "MONITOR_MAX_FEED_BYTES",
        10 * 1024 * 1024,
        "Largest feed body accepted, counted after decompression.",
        whole,
        "fetch.max_feed_bytes",
    ),
    Setting(
        "MONITOR_MAX_PAGE_BYTES",
        5 * 1024 * 1024,
        "Largest article page accepted, counted after decompression.",
        whole,
        "fetch.max_page_bytes",
    ),
    Setting(
        "MONITOR_CONCURRENCY",
        50,
        "How many feeds are polled at the same time.",
        whole,
        "fetch.concurrency",
    ),
    Setting(
        "MONITOR_FETCH_ALLOW",
        frozenset(),
        "Comma-separated `host[:port]` list that article links may reach even when the "
        "host resolves to a private or loopback address.",
        host_list,
        "fetch.allow",
        "",
    ),
    Setting(
        "MONITOR_USER_AGENT",
        "monitor/0.1 (+news monitoring; feed reader)",
        "User-Agent sent with every request.",
        to="fetch.user_agent",
    ),
    Setting(
        "MONITOR_PER_HOST",
        2,
        "Requests at the same time to one host (feeds and pages together).",
        whole,
        "fetch.per_host",
    ),
    Setting(
        "MONITOR_HOST_DELAY",
        0.25,
        "Least time between the starts of two requests to one host.",
        duration_or_zero,
        "fetch.host_delay",
        "0.25s",
    ),
    Setting(
        "MONITOR_BACKOFF_MAX",
        6 * 3600.0,
        "Longest wait between polls of a failing feed (the backoff doubles up to it).",
        duration,
        "fetch.backoff_max",
        "6h",
    ),
    Setting(
        "MONITOR_FEED_DOWN_AFTER",
        3600.0,
        'A feed failing this long raises one "feed down" notice to the `admin` channel, '
        'and one "recovered" notice when it works again.',
        duration,
        "feed_down_after",
        "1h",
    ),
    Setting(
        "MONITOR_CHANNEL_FAILING_AFTER",
        900.0,
        'A channel whose alerts have failed this long raises one "channel failing" notice '
        'to the `admin` channel, and one "recovered" notice when it takes an alert again.',
        duration,
        "admin.channel_failing_after",
        "15m",
    ),
    Setting(
        "MONITOR_NO_POLL_AFTER",
        1800.0,
        'No feed polled successfully for this long raises one "no successful poll" notice '
        "to the `admin` channel (the network, DNS or a proxy is the usual cause).",
        duration,
        "admin.no_poll_after",
        "30m",
    ),
    Setting(
        "MONITOR_NOTICE_BATCH",
        120.0,
        "Admin notices of one kind (feeds down, feeds recovered, alerts given up) raised "
        "within this time go out as one message.",
        duration_or_zero,
        "admin.batch",
        "2m",
    ),
    Setting(
        "MONITOR_EXTRACT_TIMEOUT",
        10.0,
        "Time one page may take in text extraction before it counts as extraction_failed.",
        duration,
        "extract.timeout",
        "10s",
    ),
    Setting(
        "MONITOR_EXTRACT_WORKERS",
        None,  # the number of CPUs, counted when the settings are read
        "Worker processes for text extraction.",
        whole,
        "extract.workers",
        "number of CPUs",
    ),
    Setting(
        "MONITOR_EXTRACT_MEMORY_MB",
        1024,
        "Address-space limit of one extraction worker, in MiB.",
        whole,
        "extract.memory_mb",
    ),
    Setting(
        "MONITOR_SHUTDOWN_GRACE",
        20.0,
        "On SIGTERM/SIGINT, how long polls in flight may take to finish.",
        duration,
        "shutdown_grace",
        "20s",
    ),
    Setting(
        "MONITOR_LEASE",
        600.0,
        "How long a process holds a feed it polls or a batch of alerts it sends; if it "
        "dies, other processes (PostgreSQL) take the work over after this.",
        duration,
        "lease",
        "10m",
    ),
    Setting(
        "MONITOR_LEXICON",
        None,
        "A YAML file of units that figures count, added to the shipped lexicon (same shape "
        "as `monitor/language/data/lexicon.yaml`).",
        path,
        "lexicon_path",
    ),
    Setting(
        "MONITOR_SITES",
        None,
        "A YAML file of places (military sites, regions) added to the gazetteer (same shape "
        "as `monitor/language/data/sites.yaml`).",
        path,
        "sites_path",
    ),
    Setting(
        "MONITOR_LANGUAGES",
        ("en", "ru", "uk", "be", "pl", "lt", "lv", "de"),
        "Comma-separated ISO 639-1 codes of the languages articles are identified among "
        "(a feed's `language` is only a hint); fewer is faster and more accurate.",
        language_list,
        "languages",
        "en,ru,uk,be,pl,lt,lv,de",
    ),
    Setting(
        "MONITOR_RETENTION_DAYS",
        90.0,
        "Article text older than this is dropped daily; articles' rows, hits, evidence "
        "and deliveries stay.",
        number,
        "retention_days",
        "90",
    ),
    Setting(
        "MONITOR_HTTP",
        None,
        "`[host]:port` for the dashboard, API, /healthz, /readyz and /metrics inside "
        "`monitor run` (same as `--http`); empty: no web server. `monitor serve` runs "
        "it alone.",
        to="http",
    ),
    Setting(
        "MONITOR_BASE_URL",
        None,
        "Public URL of the dashboard (`https://monitor.example.org`); alerts link to the "
        "story page there, and WebSub hubs push to `/websub/...` there.",
        parse_base_url,
        "web.base_url",
    ),
    Setting(
        "MONITOR_WEBSUB",
        "on",
        "`on`: with MONITOR_BASE_URL set and reachable, feeds that advertise a WebSub hub "
        "are subscribed and what the hub pushes is read within seconds; `off`: poll only.",
        choice("on", "off"),
        "websub.mode",
    ),
    Setting(
        "MONITOR_WEBSUB_POLL",
        3600.0,
        "How often a feed whose hub pushes to us is still polled, as a safety net (its own "
        "interval when that is longer).",
        duration,
        "websub.poll",
        "1h",
    ),
    Setting(
        "MONITOR_WEB_TOKEN",
        None,
        "Token accepted as `Authorization: Bearer <token>` and on the sign-in page. With "
        "neither it nor MONITOR_WEB_USERS set, the web server binds to 127.0.0.1 only.",
        to="web.token",
    ),
    Setting(
        "MONITOR_WEB_USERS",
        None,
        "Comma-separated `name:hash` sign-ins; make a hash with `monitor web hash-password`.",
        parse_users,
        "web.users",
    ),
    Setting(
        "MONITOR_WEB_SECRET",
        None,
        "Key that signs session cookies and CSRF tokens; set the same on every replica "
        "behind one address. Without it: derived from the credentials, or made at start "
        "when there is none.",
        to="web.secret",
        shown="derived",
    ),
    Setting(
        "MONITOR_LOG_LEVEL",
        "INFO",
        "DEBUG, INFO, WARNING or ERROR.",
        choice(*LOG_LEVELS, upper=True),
        "log_level",
    ),
    Setting(
        "MONITOR_LOG_FORMAT",
        "text",
        "`text` (human-readable) or `json` (one JSON object per line).",
        choice(*LOG_FORMATS),
        "log_format",
    ),
)
_BY_FIELD = {s.to: s for s in SETTINGS if s.to}


def default(to: str) -> Any:
    """The default of the setting that fills ``to`` ("section.field")."""
    return _BY_FIELD[to].default


@dataclass(frozen=True)
class FetchSettings:
    timeout: float = default("fetch.timeout")
    max_feed_bytes: int = default("fetch.max_feed_bytes")
    max_page_bytes: int = default("fetch.max_page_bytes")
    concurrency: int = default("fetch.concurrency")
    user_agent: str = default("fetch.user_agent")
    allow: frozenset[str] = default("fetch.allow")
    per_host: int = default("fetch.per_host")
    host_delay: float = default("fetch.host_delay")
    backoff_max: float = default("fetch.backoff_max")


@dataclass(frozen=True)
class ExtractSettings:
    timeout: float = default("extract.timeout")
    workers: int = field(default_factory=lambda: os.cpu_count() or 2)
    memory_mb: int = default("extract.memory_mb")


@dataclass(frozen=True)
class AdminSettings:
    """When failures are announced to the ``admin`` channel."""

    channel_failing_after: float = default("admin.channel_failing_after")
    no_poll_after: float = default("admin.no_poll_after")
    batch: float = default("admin.batch")


@dataclass(frozen=True)
class WebSubSettings:
    mode: str = default("websub.mode")
    poll: float = default("websub.poll")

    @property
    def enabled(self) -> bool:
        return self.mode == "on"


@dataclass(frozen=True)
class Config:
    database_url: str = default("database_url")
    feeds_path: Path = default("feeds_path")
    rules_dir: Path = default("rules_dir")
    config_path: Path = default("config_path")
    config_required: bool = False  # MONITOR_CONFIG was set: the file must exist
    templates_dir: Path | None = None
    channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    feed_down_after: float = default("feed_down_after")
    shutdown_grace: float = default("shutdown_grace")
    retention_days: float = default("retention_days")
    languages: tuple[str, ...] = default("languages")
    lexicon_path: Path | None = None
    sites_path: Path | None = None
    lease: float = default("lease")
    log_level: str = default("log_level")
    log_format: str = default("log_format")
    http: str | None = None
    web: WebSettings = field(default_factory=WebSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    websub: WebSubSettings = field(default_factory=WebSubSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        sections: dict[str, dict[str, Any]] = {
            "": {},
            "fetch": {},
            "extract": {},
            "web": {},
            "admin": {},
            "websub": {},
        }
        for setting in SETTINGS:
            raw = env.get(setting.env, "").strip()
            if setting.to is None or not raw:
                continue
            section, _, name = setting.to.rpartition(".")
            sections[section][name] = setting.parse(setting.env, raw)
        return cls(
            **sections[""],
            config_required=bool(env.get("MONITOR_CONFIG", "").strip()),
            channels=channels_from_env(env),
            fetch=FetchSettings(**sections["fetch"]),
            extract=ExtractSettings(**sections["extract"]),
            web=WebSettings.derive(**sections["web"]),
            admin=AdminSettings(**sections["admin"]),
            websub=WebSubSettings(**sections["websub"]),
        )


DEVELOPMENT = ("MONITOR_TEST_", "MONITOR_SCREENSHOTS")  # read by the tests, not the service


def unknown_settings(env: Mapping[str, str]) -> list[str]:
    """A warning for each MONITOR_ variable that is no setting, with a did-you-mean: a
    misspelt channel would otherwise send its alerts to standard output in silence."""
    known = [s.env for s in SETTINGS if "<" not in s.env]
    warnings = []
    for key in sorted(env):
        if not key.startswith("MONITOR_") or key.startswith(DEVELOPMENT) or key in known:
            continue
        if key.startswith(CHANNEL_PREFIX) and len(key) > len(CHANNEL_PREFIX):
            continue
        parts = key.split("_", 2)
        guess = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
        if len(parts) == 3 and difflib.get_close_matches(parts[1], ["CHANNEL"], cutoff=0.7):
            guess = [f"{CHANNEL_PREFIX}{parts[2]}"]
        hint = f" (did you mean {guess[0]}?)" if guess else ""
        warnings.append(f"warning: {key} is not a setting and is ignored{hint}")
    return warnings


def channels_from_env(env: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    channels = {}
    for key, value in env.items():
        if key.startswith(CHANNEL_PREFIX) and len(key) > len(CHANNEL_PREFIX):
            urls = tuple(split(value))
            if not urls:
                raise ConfigError(f"{key}: empty; give one or more apprise URLs")
            channels[key[len(CHANNEL_PREFIX) :].lower()] = urls
    return channels


def split(value: str, *, lower: bool = False) -> list[str]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return [p.lower() for p in parts] if lower else parts


def settings_table() -> str:
    """The README's table of settings, as ``monitor settings`` prints it."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for s in SETTINGS:
        shown = f"`{s.shown_default}`" if s.shown_default else ""
        rows.append(f"| `{s.env}` | {shown} | {s.help} |")
    return "\n".join(rows)
