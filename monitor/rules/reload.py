"""Reloading rules while the service runs.

The directory is polled (names, sizes, modification times); on a change every file is
loaded again. A file that now fails keeps its last good version live and its problem is
logged exactly as ``monitor rules check`` prints it (and kept in ``broken``, which the
service turns into an admin notice); a deleted file's rule goes away.
"""

from __future__ import annotations

import logging
from pathlib import Path

from monitor.rules.load import RuleSet, load_rules, rule_files
from monitor.rules.match import Matcher, compile_rules
from monitor.rules.tree import Rule

RELOAD_INTERVAL = 5.0
log = logging.getLogger(__name__)
Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(directory: Path) -> Fingerprint:
    try:
        files = rule_files(directory)
    except Exception:
        return ()
    marks = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        marks.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(marks)


def broken_files(loaded: RuleSet) -> dict[str, str]:
    """Each file that did not load, by name, with its first problem."""
    broken: dict[str, str] = {}
    for problem in loaded.problems:
        broken.setdefault(Path(problem.file).name, str(problem))
    return broken


class RuleWatcher:
    def __init__(self, directory: Path, loaded: RuleSet) -> None:
        self.directory = directory
        self._fingerprint = fingerprint(directory)
        self._good: dict[Path, Rule] = {r.path: r for r in loaded.rules if r.path}
        self.broken = broken_files(loaded)

    @property
    def rules(self) -> list[Rule]:
        return list(self._good.values())

    def poll(self) -> Matcher | None:
        """A new matcher when the directory changed, else None."""
        current = fingerprint(self.directory)
        if current == self._fingerprint:
            return None
        self._fingerprint = current
        try:
            loaded = load_rules(self.directory)
        except Exception as exc:
            log.error("rules not reloaded, all last good versions stay live: %s", exc)
            return None
        good = {r.path: r for r in loaded.rules if r.path}
        self.broken = broken_files(loaded)
        for problem in loaded.problems:
            log.error("rule problem, last good version stays live: %s", problem)
        for path in loaded.failed_files:
            if path in self._good and path not in good:
                good[path] = self._good[path]
        self._good = good
        log.info("rules reloaded: %d live", len(good))
        return compile_rules(good.values())
