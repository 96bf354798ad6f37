"""`monitor rules check`'s advice on words that match only as written, with file and line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli
from monitor.rules import load_rules
from monitor.rules.lint import word_advice

RULE = """# полки in a comment is not where the term is
name: Regiments
severity: low
match:
  any:
    - полки
    - кардон
    - exact:полки
    - "военные сборы"
    - БПЛА
    - полк*
    - moscow
    - кордон
"""


def test_words_that_match_only_as_written_are_pointed_at(tmp_path: Path) -> None:
    (tmp_path / "regiments.yaml").write_text(RULE, encoding="utf-8")
    [rule] = load_rules(tmp_path).rules
    advice = [str(a) for a in word_advice(rule)]
    path = tmp_path / "regiments.yaml"
    assert advice == [
        f"warning: {path}:6: 'полки': did you mean полка, полок or полк? "
        "(a base form matches all its forms)",
        f"warning: {path}:7: 'кардон': not a known word in English, Russian or Ukrainian: "
        "it matches as written",
    ]
    checked = CliRunner().invoke(cli, ["rules", "check", str(tmp_path)])
    assert checked.exit_code == 0  # advice, not a problem
    assert "1 rules ok, 0 problems, 2 warnings" in checked.output
    assert "'полки': did you mean" in checked.output


def test_the_shipped_rules_need_no_advice() -> None:
    repo = Path(__file__).resolve().parents[1]
    assert [a for r in load_rules(repo / "rules").rules for a in word_advice(r)] == []


def test_a_rule_notifying_an_unconfigured_channel_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "name: Z\nseverity: low\nnotify: [desk, default]\nquery: troop\n", encoding="utf-8"
    )
    env = {"MONITOR_CHANNEL_DEFAULT": "json://127.0.0.1:9/x"}
    checked = CliRunner().invoke(cli, ["rules", "check", str(tmp_path)], env=env)
    assert checked.exit_code == 0
    assert (
        f"warning: {tmp_path / 'r.yaml'}:3: 'desk': notified channel is not configured here "
        "(set MONITOR_CHANNEL_DESK)"
    ) in checked.output
    assert "'default'" not in checked.output
