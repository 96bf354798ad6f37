"""Configuration, read once at start-up and passed down: the environment (``settings``),
feeds.yaml (``feeds``) and the web app's credentials (``web``)."""

from monitor.config.durations import Duration, parse_duration
from monitor.config.feeds import FeedConfig, load_feeds
from monitor.config.settings import (
    SETTINGS,
    Config,
    ExtractSettings,
    FetchSettings,
    Setting,
    channels_from_env,
    settings_table,
)
from monitor.config.web import WebSettings

__all__ = [
    "SETTINGS",
    "Config",
    "Duration",
    "ExtractSettings",
    "FeedConfig",
    "FetchSettings",
    "Setting",
    "WebSettings",
    "channels_from_env",
    "load_feeds",
    "parse_duration",
    "settings_table",
]
