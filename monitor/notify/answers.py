"""What the other side said when apprise could not deliver: apprise's warnings and the
response body it logs at debug level ("554 rejected: policy"), without timestamps (so one
failure repeated reads as one) and without apprise's other debug lines, which carry the
channel's URL and its tokens. Nothing of it reaches the service's log on its own: the
delivery's error carries it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_APPRISE = logging.getLogger("apprise")
_lock = threading.Lock()
_active = 0
_saved: tuple[int, bool] = (logging.NOTSET, True)
MAX_ANSWER = 500  # characters of what the other side said


class _Answers(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # apprise sends from threads of its own, so a send at the same time to another
        # channel may add its lines here too, as apprise's own LogCapture would.
        message = record.getMessage()
        if message.startswith("Response Details:"):
            body = message.removeprefix("Response Details:").strip()
            if body not in {"b''", "''", ""}:
                self.lines.append(f"the server answered {body}")
        elif record.levelno >= logging.WARNING:
            self.lines.append(message)

    def text(self) -> str:
        return " ".join(" ".join(self.lines).split())[:MAX_ANSWER]


@contextmanager
def captured() -> Iterator[_Answers]:
    """apprise's records of this thread's send, kept out of the service's log."""
    global _active, _saved
    answers = _Answers()
    with _lock:
        if _active == 0:
            _saved = (_APPRISE.level, _APPRISE.propagate)
            _APPRISE.setLevel(logging.DEBUG)
            _APPRISE.propagate = False
        _active += 1
        _APPRISE.addHandler(answers)
    try:
        yield answers
    finally:
        with _lock:
            _APPRISE.removeHandler(answers)
            _active -= 1
            if _active == 0:
                _APPRISE.setLevel(_saved[0])
                _APPRISE.propagate = _saved[1]
