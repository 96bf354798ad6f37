from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.notify.settings import load_monitor_file
from tests.conftest import REPO


def test_the_shipped_example_loads() -> None:
    settings = load_monitor_file(REPO / "monitor.example.yaml", required=True)
    assert settings.channel("desk").rate_limit == 20
    assert settings.channel("editors").mode == "digest"
    assert settings.channel("unknown").mode == "immediate"  # defaults
    assert settings.stories.window == 12 * 3600


def test_a_missing_default_file_means_defaults_but_a_named_one_must_exist(tmp_path: Path) -> None:
    assert load_monitor_file(tmp_path / "monitor.yaml", required=False).channels == {}
    with pytest.raises(ConfigError, match="cannot read"):
        load_monitor_file(tmp_path / "monitor.yaml", required=True)


@pytest.mark.parametrize(
    "text, message",
    [
        ("channels:\n  desk:\n    mode: loud\n", ":3:11: channels.desk.mode: Input should be"),
        ("channels:\n  desk:\n    timezone: Mars/Base\n", "unknown time zone 'Mars/Base'"),
        ("channels:\n  desk:\n    digest: every hour\n", "is not a cron schedule"),
        (
            "channels:\n  desk:\n    rate_limt: 5\n",
            ":3:5: unknown key 'rate_limt' (did you mean 'rate_limit'?)",
        ),
        (
            "channels:\n  desk:\n    quiet_hours: {start: '25:00', end: '07:00'}\n",
            "quiet_hours.start",
        ),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as err:
        load_monitor_file(path, required=True)
    assert str(err.value).startswith(str(path)) and message in str(err.value)
