"""Logging set-up: human-readable lines on a terminal, or one JSON object per line
(MONITOR_LOG_FORMAT=json) with the structured fields a poll adds (feed, status, items, new,
duration)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

NOISY = (
    "httpx",
    "httpcore",
    "apscheduler.executors",
    "apscheduler.scheduler",
    "trafilatura",
    "apprise",
    "htmldate",
    "courlan",
)
STRUCTURED = ("poll",)  # `extra=` keys whose dicts are merged into the JSON object


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in STRUCTURED:
            fields = getattr(record, key, None)
            if isinstance(fields, dict):
                data.update(fields)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def setup_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet = max(logging.WARNING, logging.getLevelName(level))
    for name in NOISY:
        logging.getLogger(name).setLevel(quiet)
