import logging
import os
from pathlib import Path

import pytest

from monitor.entities import Document
from monitor.rules import load_rules
from monitor.rules.reload import RuleWatcher


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stat = path.stat()  # make the change visible even within one mtime tick
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def fires(matcher, title: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {h.rule_id for h in matcher.match(Document(title, ""))}


def test_unchanged_directory_gives_nothing(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "name: A\nseverity: low\nmatch: {any: [tanks]}\n")
    watcher = RuleWatcher(tmp_path, load_rules(tmp_path))
    assert watcher.poll() is None


def test_edits_apply_and_broken_edits_keep_the_last_good_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rule = tmp_path / "a.yaml"
    write(rule, "name: A\nseverity: low\nmatch: {any: [tanks]}\n")
    write(tmp_path / "b.yaml", "name: B\nseverity: low\nmatch: {any: [drones]}\n")
    watcher = RuleWatcher(tmp_path, load_rules(tmp_path))

    write(rule, "name: A\nseverity: low\nmatch: {any: [artillery]}\n")
    matcher = watcher.poll()
    assert matcher is not None
    assert fires(matcher, "artillery fire") == {"a"} and fires(matcher, "tanks") == set()

    caplog.set_level(logging.ERROR)
    write(rule, "name: A\nseverity: low\nmatch: {anyy: [mortars]}\n")
    matcher = watcher.poll()
    assert matcher is not None
    assert fires(matcher, "artillery and drones") == {"a", "b"}  # last good A stays live
    assert f"{rule}:3:9: unknown key 'anyy' (did you mean 'any'?)" in caplog.text

    (tmp_path / "b.yaml").unlink()
    matcher = watcher.poll()
    assert matcher is not None and fires(matcher, "drones") == set()


def test_a_file_that_cannot_be_read_never_stops_the_others_from_reloading(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "name: A\nseverity: low\nmatch: {any: [tanks]}\n")
    watcher = RuleWatcher(tmp_path, load_rules(tmp_path))
    write(tmp_path / "a.yaml", "name: A\nseverity: low\nquery: '" + "(" * 400 + "tanks'\n")
    write(tmp_path / "b.yaml", "name: B\nseverity: low\nmatch: {any: [drones]}\n")
    matcher = watcher.poll()
    assert matcher is not None
    assert fires(matcher, "tanks and drones") == {"a", "b"}  # a's last good version, b new
