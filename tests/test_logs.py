import json
import logging
from pathlib import Path

from monitor.logs import JsonFormatter


def test_json_lines_carry_poll_fields() -> None:
    record = logging.LogRecord(
        "monitor.pipeline", logging.INFO, __file__, 1, "poll %s", ("A",), None
    )
    record.poll = {"feed": "A", "status": 200, "items": 3, "new": 1, "duration": 0.5}
    data = json.loads(JsonFormatter().format(record))
    assert data["message"] == "poll A" and data["level"] == "info"
    assert (data["feed"], data["status"], data["new"], data["duration"]) == ("A", 200, 1, 0.5)


def test_run_once_with_json_logs_writes_nothing_but_json(tmp_path: Path) -> None:
    from tests.test_cli import monitor

    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - name: Down\n    url: http://127.0.0.1:9/feed.xml\n", "utf-8")
    env = {
        "MONITOR_LOG_FORMAT": "json",
        "MONITOR_FEEDS": str(feeds),
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
    }
    done = monitor("run", "--once", env=env)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    messages = [r["message"] for r in records if r["logger"] == "monitor.cli"]
    assert any(m.startswith("feed failed: Down: fetch: http://127.0.0.1:9/") for m in messages)
    assert any(m.startswith("1 feeds polled (1 failed)") for m in messages)
