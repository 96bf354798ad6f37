import json
import logging

from monitor.logs import JsonFormatter


def test_json_lines_carry_poll_fields() -> None:
    record = logging.LogRecord(
        "monitor.pipeline", logging.INFO, __file__, 1, "poll %s", ("A",), None
    )
    record.poll = {"feed": "A", "status": 200, "items": 3, "new": 1, "duration": 0.5}
    data = json.loads(JsonFormatter().format(record))
    assert data["message"] == "poll A" and data["level"] == "info"
    assert (data["feed"], data["status"], data["new"], data["duration"]) == ("A", 200, 1, 0.5)
