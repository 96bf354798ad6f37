"""``monitor config check``: the effective settings, secrets masked, everything checked."""

from __future__ import annotations

from pathlib import Path

from monitor.config.effective import effective_settings, mask
from tests.conftest import REPO
from tests.test_cli import monitor

SECRET_ENV = {
    "MONITOR_DATABASE_URL": "postgresql+psycopg://monitor:hunter2@db.internal/monitor",
    "MONITOR_WEB_TOKEN": "tok-ABCDEF",
    "MONITOR_WEB_SECRET": "key-123456",
    "MONITOR_WEB_USERS": "ana:$scrypt$abc$def,bob:$scrypt$ghi$jkl",
    "MONITOR_CHANNEL_DESK": "slack://T000/B000/XXXXSECRET, mailtos://u:pw@mail.example",
    "MONITOR_FETCH_TIMEOUT": "45s",
}


def test_secrets_are_masked_and_sources_named() -> None:
    rows = {variable: (value, source) for variable, value, source in effective_settings(SECRET_ENV)}
    shown = " ".join(value for value, _ in rows.values())
    for secret in ("hunter2", "tok-ABCDEF", "key-123456", "$scrypt", "XXXXSECRET", ":pw@"):
        assert secret not in shown
    assert rows["MONITOR_DATABASE_URL"] == (
        "postgresql+psycopg://monitor:***@db.internal/monitor",
        "environment",
    )
    assert rows["MONITOR_WEB_USERS"][0].startswith("ana, bob")
    assert rows["MONITOR_CHANNEL_DESK"][0].startswith("slack://…, mailtos://…")
    assert rows["MONITOR_FETCH_TIMEOUT"] == ("45s", "environment")
    assert rows["MONITOR_PER_HOST"][1] == "default"
    assert mask("MONITOR_USER_AGENT", "agent/1") == "agent/1"


def test_config_check_prints_the_effective_settings_and_passes(tmp_path: Path) -> None:
    from monitor.config.web import hash_password

    env = {**SECRET_ENV, "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"}
    env["MONITOR_WEB_USERS"] = f"ana:{hash_password('correct horse')}"
    env["MONITOR_CHANNEL_DESK"] = "json://127.0.0.1:9/hook"
    env |= {"MONITOR_FEEDS": str(REPO / "feeds.yaml"), "MONITOR_RULES": str(REPO / "rules")}
    done = monitor("config", "check", env=env)
    assert done.returncode == 0, done.stderr
    assert "MONITOR_FETCH_TIMEOUT" in done.stdout and "(environment)" in done.stdout
    assert "tok-ABCDEF" not in done.stdout + done.stderr and "scrypt" not in done.stdout
    assert "configuration ok: 15 feeds" in done.stderr and "1 channels" in done.stderr
    assert not (tmp_path / "never.db").exists()  # nothing opened


def test_config_check_lists_every_problem_at_once(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("- {name: A, url: 'ftp://a.example/x'}\n", "utf-8")
    env = {
        "MONITOR_FEEDS": str(feeds),
        "MONITOR_RULES": str(tmp_path / "no-rules"),
        "MONITOR_CHANNEL_DESK": "nosuchscheme://x",
        "MONITOR_LANGUAGES": "en,xx",
    }
    done = monitor("config", "check", env=env)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 4, done.stderr
    assert "feeds.yaml" in done.stderr and "ftp://a.example/x" in done.stderr
    assert "MONITOR_CHANNEL_DESK" in done.stderr and "'xx'" in done.stderr
