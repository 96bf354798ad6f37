"""Configuration: the environment (settings) and feeds.yaml, read once at start-up.

Every setting is data with help text (``SETTINGS``); the README table is generated from it
(``monitor settings``) and a test fails when one is undocumented.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.errors import ConfigError, Problem
from monitor.web.settings import WebSettings
from monitor.yamlsrc import YamlSource, read_yaml, validation_problems

DEFAULT_DATABASE_URL = "sqlite:///monitor.db"
DEFAULT_FEEDS_PATH = "./feeds.yaml"
DEFAULT_RULES_DIR = "./rules"
DEFAULT_CONFIG_PATH = "./monitor.yaml"
DEFAULT_FEED_INTERVAL = 300.0
MIN_FEED_INTERVAL = 30.0
DEFAULT_FETCH_TIMEOUT = 30.0
DEFAULT_MAX_FEED_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PAGE_BYTES = 5 * 1024 * 1024
# Measured (bench/pipeline_bench.py, 1,000 feeds all 304): 12.0 s at 10, 6.3 s at 25, 4.9 s at
# 50, 5.6 s at 100; past that httpcore's pool scans cost more than the concurrency wins.
DEFAULT_CONCURRENCY = 50
DEFAULT_USER_AGENT = "monitor/0.1 (+news monitoring; feed reader)"
DEFAULT_PER_HOST = 2
DEFAULT_HOST_DELAY = 0.25
DEFAULT_BACKOFF_MAX = 6 * 3600.0
DEFAULT_FEED_DOWN_AFTER = 3600.0
DEFAULT_EXTRACT_TIMEOUT = 10.0
DEFAULT_EXTRACT_MEMORY_MB = 1024
DEFAULT_MIN_INTERVAL = 120.0
DEFAULT_MAX_INTERVAL = 3600.0
DEFAULT_GRACE = 20.0
DEFAULT_RETENTION_DAYS = 90
DEFAULT_LEASE = 600.0
CHANNEL_PREFIX = "MONITOR_CHANNEL_"


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "MONITOR_DATABASE_URL",
        DEFAULT_DATABASE_URL,
        "SQLAlchemy URL of the database: `sqlite:///path.db` or "
        "`postgresql+psycopg://user:pass@host/db`.",
    ),
    Setting("MONITOR_FEEDS", DEFAULT_FEEDS_PATH, "Path of the feeds file."),
    Setting("MONITOR_RULES", DEFAULT_RULES_DIR, "Directory of rule files (`*.yaml`)."),
    Setting(
        "MONITOR_CONFIG",
        DEFAULT_CONFIG_PATH,
        "Path of monitor.yaml: per-channel settings (`channels:`) and story grouping "
        "(`stories:`). Optional; a missing default file means defaults.",
    ),
    Setting(
        "MONITOR_TEMPLATES",
        "",
        "Directory of Jinja2 templates that override the shipped alert and digest "
        "templates (same file names).",
    ),
    Setting(
        "MONITOR_CHANNEL_<NAME>",
        "",
        "Defines channel `<name>` (lower-cased) as one or more comma-separated apprise "
        "URLs. Rules name channels in `notify:`; without `notify:` a rule uses `default`. "
        "With no channel at all, alerts are printed to standard output.",
    ),
    Setting(
        "MONITOR_FETCH_TIMEOUT",
        str(DEFAULT_FETCH_TIMEOUT),
        "Overall deadline in seconds for one HTTP request (connect, headers and body).",
    ),
    Setting(
        "MONITOR_MAX_FEED_BYTES",
        str(DEFAULT_MAX_FEED_BYTES),
        "Largest feed body accepted, counted after decompression.",
    ),
    Setting(
        "MONITOR_MAX_PAGE_BYTES",
        str(DEFAULT_MAX_PAGE_BYTES),
        "Largest article page accepted, counted after decompression.",
    ),
    Setting(
        "MONITOR_CONCURRENCY",
        str(DEFAULT_CONCURRENCY),
        "How many feeds are polled at the same time.",
    ),
    Setting(
        "MONITOR_FETCH_ALLOW",
        "",
        "Comma-separated `host[:port]` list that article links may reach even when the "
        "host resolves to a private or loopback address.",
    ),
    Setting("MONITOR_USER_AGENT", DEFAULT_USER_AGENT, "User-Agent sent with every request."),
    Setting(
        "MONITOR_PER_HOST",
        str(DEFAULT_PER_HOST),
        "Requests at the same time to one host (feeds and pages together).",
    ),
    Setting(
        "MONITOR_HOST_DELAY", "0.25s", "Least time between the starts of two requests to one host."
    ),
    Setting(
        "MONITOR_BACKOFF_MAX",
        "6h",
        "Longest wait between polls of a failing feed (the backoff doubles up to it).",
    ),
    Setting(
        "MONITOR_FEED_DOWN_AFTER",
        "1h",
        'A feed failing this long raises one "feed down" notice to the `admin` channel, '
        'and one "recovered" notice when it works again.',
    ),
    Setting(
        "MONITOR_EXTRACT_TIMEOUT",
        "10s",
        "Time one page may take in text extraction before it counts as extraction_failed.",
    ),
    Setting("MONITOR_EXTRACT_WORKERS", "number of CPUs", "Worker processes for text extraction."),
    Setting(
        "MONITOR_EXTRACT_MEMORY_MB",
        str(DEFAULT_EXTRACT_MEMORY_MB),
        "Address-space limit of one extraction worker, in MiB.",
    ),
    Setting(
        "MONITOR_SHUTDOWN_GRACE",
        "20s",
        "On SIGTERM/SIGINT, how long polls in flight may take to finish.",
    ),
    Setting(
        "MONITOR_LEASE",
        "10m",
        "How long a process holds a feed it polls or a batch of alerts it sends; if it "
        "dies, other processes (PostgreSQL) take the work over after this.",
    ),
    Setting(
        "MONITOR_RETENTION_DAYS",
        str(DEFAULT_RETENTION_DAYS),
        "Article text older than this is dropped daily; articles' rows, hits, evidence "
        "and deliveries stay.",
    ),
    Setting(
        "MONITOR_HTTP",
        "",
        "`[host]:port` for the dashboard, API, /healthz, /readyz and /metrics inside "
        "`monitor run` (same as `--http`); empty: no web server. `monitor serve` runs "
        "it alone.",
    ),
    Setting(
        "MONITOR_BASE_URL",
        "",
        "Public URL of the dashboard (`https://monitor.example.org`); alerts link to the "
        "article page there.",
    ),
    Setting(
        "MONITOR_WEB_TOKEN",
        "",
        "Token accepted as `Authorization: Bearer <token>` and on the sign-in page. With "
        "neither it nor MONITOR_WEB_USERS set, the web server binds to 127.0.0.1 only.",
    ),
    Setting(
        "MONITOR_WEB_USERS",
        "",
        "Comma-separated `name:hash` sign-ins; make a hash with `monitor web hash-password`.",
    ),
    Setting(
        "MONITOR_WEB_SECRET",
        "derived from the credentials",
        "Key that signs session cookies and CSRF tokens; set the same on every replica "
        "behind one address.",
    ),
    Setting("MONITOR_LOG_LEVEL", "INFO", "DEBUG, INFO, WARNING or ERROR."),
    Setting(
        "MONITOR_LOG_FORMAT",
        "text",
        "`text` (human-readable) or `json` (one JSON object per line).",
    ),
)


@dataclass(frozen=True)
class FetchSettings:
    timeout: float = DEFAULT_FETCH_TIMEOUT
    max_feed_bytes: int = DEFAULT_MAX_FEED_BYTES
    max_page_bytes: int = DEFAULT_MAX_PAGE_BYTES
    concurrency: int = DEFAULT_CONCURRENCY
    user_agent: str = DEFAULT_USER_AGENT
    allow: frozenset[str] = frozenset()
    per_host: int = DEFAULT_PER_HOST
    host_delay: float = DEFAULT_HOST_DELAY
    backoff_max: float = DEFAULT_BACKOFF_MAX


@dataclass(frozen=True)
class ExtractSettings:
    timeout: float = DEFAULT_EXTRACT_TIMEOUT
    workers: int = field(default_factory=lambda: os.cpu_count() or 2)
    memory_mb: int = DEFAULT_EXTRACT_MEMORY_MB


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_DATABASE_URL
    feeds_path: Path = Path(DEFAULT_FEEDS_PATH)
    rules_dir: Path = Path(DEFAULT_RULES_DIR)
    config_path: Path = Path(DEFAULT_CONFIG_PATH)
    config_required: bool = False
    templates_dir: Path | None = None
    channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    feed_down_after: float = DEFAULT_FEED_DOWN_AFTER
    shutdown_grace: float = DEFAULT_GRACE
    retention_days: float = DEFAULT_RETENTION_DAYS
    lease: float = DEFAULT_LEASE
    log_level: str = "INFO"
    log_format: str = "text"
    http: str | None = None
    web: WebSettings = field(default_factory=WebSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        def get(name: str, default: str) -> str:
            return env.get(name, "").strip() or default

        fetch = FetchSettings(
            timeout=_number(env, "MONITOR_FETCH_TIMEOUT", DEFAULT_FETCH_TIMEOUT),
            max_feed_bytes=int(_number(env, "MONITOR_MAX_FEED_BYTES", DEFAULT_MAX_FEED_BYTES)),
            max_page_bytes=int(_number(env, "MONITOR_MAX_PAGE_BYTES", DEFAULT_MAX_PAGE_BYTES)),
            concurrency=int(_number(env, "MONITOR_CONCURRENCY", DEFAULT_CONCURRENCY)),
            user_agent=get("MONITOR_USER_AGENT", DEFAULT_USER_AGENT),
            allow=frozenset(_split(env.get("MONITOR_FETCH_ALLOW", ""), lower=True)),
            per_host=int(_number(env, "MONITOR_PER_HOST", DEFAULT_PER_HOST)),
            host_delay=_duration(env, "MONITOR_HOST_DELAY", DEFAULT_HOST_DELAY, zero_ok=True),
            backoff_max=_duration(env, "MONITOR_BACKOFF_MAX", DEFAULT_BACKOFF_MAX),
        )
        extract = ExtractSettings(
            timeout=_duration(env, "MONITOR_EXTRACT_TIMEOUT", DEFAULT_EXTRACT_TIMEOUT),
            workers=int(_number(env, "MONITOR_EXTRACT_WORKERS", os.cpu_count() or 2)),
            memory_mb=int(_number(env, "MONITOR_EXTRACT_MEMORY_MB", DEFAULT_EXTRACT_MEMORY_MB)),
        )
        log_format = get("MONITOR_LOG_FORMAT", "text").lower()
        if log_format not in {"text", "json"}:
            raise ConfigError(f"MONITOR_LOG_FORMAT: {log_format!r} is not text or json")
        level = get("MONITOR_LOG_LEVEL", "INFO").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"MONITOR_LOG_LEVEL: {level!r} is not DEBUG, INFO, WARNING or ERROR")
        return cls(
            database_url=get("MONITOR_DATABASE_URL", DEFAULT_DATABASE_URL),
            feeds_path=Path(get("MONITOR_FEEDS", DEFAULT_FEEDS_PATH)),
            rules_dir=Path(get("MONITOR_RULES", DEFAULT_RULES_DIR)),
            config_path=Path(get("MONITOR_CONFIG", DEFAULT_CONFIG_PATH)),
            config_required=bool(env.get("MONITOR_CONFIG", "").strip()),
            templates_dir=Path(env["MONITOR_TEMPLATES"]) if env.get("MONITOR_TEMPLATES") else None,
            channels=channels_from_env(env),
            fetch=fetch,
            extract=extract,
            feed_down_after=_duration(env, "MONITOR_FEED_DOWN_AFTER", DEFAULT_FEED_DOWN_AFTER),
            shutdown_grace=_duration(env, "MONITOR_SHUTDOWN_GRACE", DEFAULT_GRACE),
            retention_days=_number(env, "MONITOR_RETENTION_DAYS", DEFAULT_RETENTION_DAYS),
            lease=_duration(env, "MONITOR_LEASE", DEFAULT_LEASE),
            log_level=level,
            log_format=log_format,
            http=get("MONITOR_HTTP", "") or None,
            web=WebSettings.from_env(env),
        )


def channels_from_env(env: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    channels = {}
    for key, value in env.items():
        if key.startswith(CHANNEL_PREFIX) and len(key) > len(CHANNEL_PREFIX):
            urls = tuple(_split(value))
            if not urls:
                raise ConfigError(f"{key}: empty; give one or more apprise URLs")
            channels[key[len(CHANNEL_PREFIX) :].lower()] = urls
    return channels


def _split(value: str, *, lower: bool = False) -> list[str]:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return [p.lower() for p in parts] if lower else parts


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a number") from None
    if value <= 0:
        raise ConfigError(f"{name}: must be greater than 0, got {raw!r}")
    return value


def _duration(env: Mapping[str, str], name: str, default: float, *, zero_ok: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse_duration(raw, bare_unit="s")
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a duration such as 30s, 10m or 6h") from None
    if value < 0 or (value == 0 and not zero_ok):
        raise ConfigError(f"{name}: must be greater than 0, got {raw!r}")
    return value


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any, *, bare_unit: str = "m") -> float:
    """``"90s"``, ``"10m"``, ``"2h"``, ``"1d"``; a bare number is in ``bare_unit``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 10m, 90s or 1h")
    if isinstance(value, int | float):
        return float(value) * _UNIT_SECONDS[bare_unit]
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration such as 10m, 90s or 1h")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or bare_unit]


Duration = Annotated[float, BeforeValidator(parse_duration)]


class FeedConfig(BaseModel):
    """One entry of feeds.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="RSS or Atom URL (http or https).")
    name: str = Field(min_length=1, description="Unique name shown in alerts.")
    tags: tuple[str, ...] = ()
    language: str | None = Field(default=None, description="ISO code such as en, ru, uk.")
    interval: Duration = Field(default=DEFAULT_FEED_INTERVAL, description="Poll interval.")
    full_text: bool = Field(default=True, description="Fetch and extract the linked page.")
    adaptive: bool = Field(default=True, description="Poll busy feeds more often, quiet ones less.")
    min_interval: Duration | None = Field(default=None, description="Adaptive lower bound.")
    max_interval: Duration | None = Field(default=None, description="Adaptive upper bound.")

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value, re.IGNORECASE):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("interval", "min_interval", "max_interval")
    @classmethod
    def _not_too_often(cls, value: float | None) -> float | None:
        if value is not None and value < MIN_FEED_INTERVAL:
            raise ValueError(f"must be at least {MIN_FEED_INTERVAL:g} seconds")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> FeedConfig:
        if not self.lowest <= self.interval <= self.highest:
            raise ValueError(
                f"need min_interval <= interval <= max_interval, got "
                f"{self.lowest:g}s, {self.interval:g}s, {self.highest:g}s"
            )
        return self

    @property
    def lowest(self) -> float:
        if self.min_interval is not None:
            return self.min_interval
        return min(self.interval, DEFAULT_MIN_INTERVAL)

    @property
    def highest(self) -> float:
        if self.max_interval is not None:
            return self.max_interval
        return max(self.interval, DEFAULT_MAX_INTERVAL)


_FEED_LIST = TypeAdapter(list[FeedConfig])


def load_feeds(path: Path) -> list[FeedConfig]:
    """Read feeds.yaml: either a list of feeds or ``feeds:`` holding one."""
    source = read_yaml(path)
    data = source.data
    prefix: tuple[str, ...] = ()
    if isinstance(data, dict) and "feeds" in data:
        data, prefix = data["feeds"], ("feeds",)
    if not isinstance(data, list) or not data:
        raise ConfigError(source.problem(prefix, "expected a non-empty list of feeds"))
    try:
        feeds = _FEED_LIST.validate_python(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(source, exc, FeedConfig, prefix=prefix)) from None
    problems = _duplicates(source, feeds, prefix)
    if problems:
        raise ConfigError(problems)
    return feeds


def _duplicates(
    source: YamlSource, feeds: list[FeedConfig], prefix: tuple[str, ...]
) -> list[Problem]:
    problems, seen = [], set()
    for index, feed in enumerate(feeds):
        if feed.name in seen:
            problems.append(
                source.problem((*prefix, index, "name"), f"duplicate feed name {feed.name!r}")
            )
        seen.add(feed.name)
    return problems
