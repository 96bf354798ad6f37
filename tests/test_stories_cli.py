"""`monitor stories explain A B` on stored articles, as an operator runs it."""

from __future__ import annotations

from pathlib import Path

from monitor.store.db import make_engine, upgrade
from tests.test_cli import monitor
from tests.test_story_alerts import EN, OTHER, RU, store, troops


def test_explain_says_why_two_reports_are_one_story_or_not(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = make_engine(url)
    upgrade(engine)
    wire = store(engine, "Wire", *EN, ["troop-movements"], facts=troops(9000))
    ru = store(engine, "Ru", *RU, ["troop-movements"], "ru", troops(9000))
    hockey = store(engine, "Sport", *OTHER, ["sport"])
    engine.dispose()
    env = {"MONITOR_DATABASE_URL": url}
    same = monitor("stories", "explain", str(wire), str(ru), env=env)
    assert same.returncode == 0, same.stderr
    assert f"{ru}: {RU[0]} (Ru, ru, story {wire})" in same.stdout
    assert "across wording and language: cosine 0." in same.stdout
    assert "troops:9000" in same.stdout and ">= 0.845" in same.stdout
    assert same.stdout.rstrip().endswith("one story")
    apart = monitor("stories", "explain", str(wire), str(hockey), env=env)
    assert apart.stdout.rstrip().endswith("not one story") and "< 0.935" in apart.stdout
    missing = monitor("stories", "explain", str(wire), "999", env=env)
    assert missing.returncode == 1 and "no stored article 999" in missing.stderr
