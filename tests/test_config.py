from pathlib import Path

import pytest

from monitor.config import SETTINGS, Config, load_feeds, parse_duration
from monitor.errors import ConfigError
from tests.conftest import REPO


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_follow_the_contract() -> None:
    config = Config.from_env({})
    assert config.database_url == "sqlite:///monitor.db"
    assert config.feeds_path == Path("./feeds.yaml")
    assert config.rules_dir == Path("./rules")
    assert config.channels == {}


def test_channels_come_from_environment_lower_cased_with_several_urls() -> None:
    config = Config.from_env(
        {
            "MONITOR_CHANNEL_DESK": "json://127.0.0.1:9/a, mailto://x@example.org",
            "MONITOR_CHANNEL_ADMIN": "json://127.0.0.1:9/b",
            "OTHER": "x",
        }
    )
    assert config.channels == {
        "desk": ("json://127.0.0.1:9/a", "mailto://x@example.org"),
        "admin": ("json://127.0.0.1:9/b",),
    }


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({"MONITOR_CHANNEL_DESK": " , "}, "MONITOR_CHANNEL_DESK: empty"),
        (
            {"MONITOR_FETCH_TIMEOUT": "soon"},
            "MONITOR_FETCH_TIMEOUT: 'soon' is not a duration such as 30s",
        ),
        ({"MONITOR_CONCURRENCY": "0"}, "MONITOR_CONCURRENCY: must be greater than 0"),
        ({"MONITOR_LOG_LEVEL": "loud"}, "MONITOR_LOG_LEVEL"),
    ],
)
def test_bad_environment_names_the_variable(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Config.from_env(env)


def test_feed_defaults(tmp_path: Path) -> None:
    feeds = load_feeds(write(tmp_path, "- url: https://example.org/rss\n  name: Example\n"))
    assert feeds[0].interval == 300
    assert feeds[0].full_text is True
    assert feeds[0].tags == ()


@pytest.mark.parametrize(
    "raw, seconds", [("90s", 90), ("10m", 600), ("2h", 7200), (5, 300), ("1d", 86400)]
)
def test_durations(raw: object, seconds: float) -> None:
    assert parse_duration(raw) == seconds


def test_feed_errors_name_file_line_column_and_suggest(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "feeds:\n  - url: https://example.org/rss\n    name: A\n"
        "  - url: ftp://example.org/x\n    name: B\n    intervall: 5m\n",
    )
    with pytest.raises(ConfigError) as err:
        load_feeds(path)
    messages = [str(p) for p in err.value.problems]
    assert (
        f"{path}:4:10: 1.url: Value error, 'ftp://example.org/x' is not an http(s) URL" in messages
    )
    assert f"{path}:6:5: unknown key 'intervall' (did you mean 'interval'?)" in messages


def test_duplicate_feed_names_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- {url: 'https://a.example/rss', name: Same}\n"
        "- {url: 'https://b.example/rss', name: Same}\n",
    )
    with pytest.raises(ConfigError, match=r":2:\d+: duplicate feed name 'Same'"):
        load_feeds(path)


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "- url: https://a.example/rss\n  name: [unclosed\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+:\d+: YAML syntax"):
        load_feeds(path)


def test_missing_feeds_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml:0:0: cannot read"):
        load_feeds(tmp_path / "nope.yaml")


def test_shipped_feeds_cover_three_languages() -> None:
    feeds = load_feeds(REPO / "feeds.yaml")
    assert len(feeds) >= 10
    assert {f.language for f in feeds} >= {"en", "ru", "uk"}
    assert all(f.url.startswith("https://") for f in feeds)


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in readme]
    assert not missing, f"README lacks settings {missing}; paste the output of `monitor settings`"


def test_every_setting_is_written_once_and_config_takes_its_defaults_from_it() -> None:
    """Config's defaults are the table's, and each variable fills the field it names."""
    import os

    from monitor.config.settings import SETTINGS as TABLE

    empty = Config.from_env({})
    for setting in TABLE:
        if setting.to is None or setting.to.startswith("web."):  # web: derived, below
            continue
        section, _, name = setting.to.rpartition(".")
        value = getattr(getattr(empty, section) if section else empty, name)
        expected = os.cpu_count() if setting.env == "MONITOR_EXTRACT_WORKERS" else setting.default
        assert value == expected, setting.env
    changed = Config.from_env({"MONITOR_CONCURRENCY": "7", "MONITOR_LEASE": "2m"})
    assert (changed.fetch.concurrency, changed.lease) == (7, 120.0)
    web = Config.from_env({"MONITOR_BASE_URL": "https://m.example/desk/", "MONITOR_WEB_TOKEN": "t"})
    assert (web.web.base_url, web.web.token, empty.web.token, empty.web.open) == (
        "https://m.example/desk",
        "t",
        None,
        True,
    )
    assert web.web.secret != empty.web.secret  # a credential changes the signing key


@pytest.mark.parametrize(
    "entry, fragment",
    [
        ("url: 'https://e.org:99999/rss'\n  name: A", "is not a valid URL"),
        ("url: 'https://[::1/rss'\n  name: A", "is not a valid URL"),
        ("url: https://e.org/rss\n  name: A\n  interval: .inf", "interval"),
        ("url: https://e.org/rss\n  name: A\n  interval: 30d", "between 30 seconds and 7 days"),
        (f"url: https://e.org/rss\n  name: {'n' * 300}", "at most 200 characters"),
    ],
)
def test_feeds_yaml_bounds_are_located_errors(tmp_path: Path, entry: str, fragment: str) -> None:
    path = write(tmp_path, f"- {entry}\n")
    with pytest.raises(ConfigError) as err:
        load_feeds(path)
    [problem] = [str(p) for p in err.value.problems]
    assert problem.startswith(f"{path}:") and fragment in problem, problem


def test_misspelt_variables_are_warned_with_a_did_you_mean() -> None:
    from monitor.config.settings import unknown_settings

    warnings = unknown_settings(
        {
            "MONITOR_CHANEL_DEFAULT": "json://x/",
            "MONITOR_FETCH_TIMOUT": "3",
            "MONITOR_CHANNEL_DESK": "json://x/",  # a channel: fine
            "MONITOR_TEST_POSTGRES_URL": "x",  # the tests' own
            "HOME": "/root",
        }
    )
    assert warnings == [
        "warning: MONITOR_CHANEL_DEFAULT is not a setting and is ignored "
        "(did you mean MONITOR_CHANNEL_DEFAULT?)",
        "warning: MONITOR_FETCH_TIMOUT is not a setting and is ignored "
        "(did you mean MONITOR_FETCH_TIMEOUT?)",
    ]
    with pytest.raises(ConfigError) as err:
        Config.from_env({"MONITOR_LOG_LEVEL": "loud"})
    assert str(err.value).startswith("MONITOR_LOG_LEVEL: ")  # no internal prefix


def test_a_channel_url_apprise_cannot_send_to_stops_the_start(tmp_path: Path) -> None:
    from monitor.notify.channels import Channels

    Channels({"desk": ("json://127.0.0.1:9/x", "mailtos://u:p@smtp.example.org")}).check()
    with pytest.raises(ConfigError) as err:
        Channels({"default": ("slack://T0/B0/X", "slacks://T000/B000/XXXX")}).check()
    assert str(err.value) == (
        "MONITOR_CHANNEL_DEFAULT: URL 2 (slacks://…) is not one apprise can send to; "
        "see `monitor channels test`"
    )
    assert "XXXX" not in str(err.value)  # the URL's secrets are not printed


def test_every_duration_setting_takes_the_one_duration_syntax() -> None:
    from monitor.config.settings import SETTINGS, duration, duration_or_zero

    durations = [s.env for s in SETTINGS if s.parse in (duration, duration_or_zero)]
    assert "MONITOR_FETCH_TIMEOUT" in durations and len(durations) >= 7
    for variable in durations:
        config = Config.from_env({variable: "2m"})
        setting = next(s for s in SETTINGS if s.env == variable)
        section, _, name = (setting.to or "").rpartition(".")
        value = getattr(getattr(config, section) if section else config, name)
        assert value == 120, variable
    assert Config.from_env({"MONITOR_FETCH_TIMEOUT": "45"}).fetch.timeout == 45  # seconds
