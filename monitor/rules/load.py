"""Reading the rules directory: one rule per ``*.yaml`` file, every problem located."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from monitor.errors import ConfigError, Problem
from monitor.rules.model import RuleFile
from monitor.rules.tree import Rule, TermSyntaxError, rule_from_file
from monitor.yamlsrc import read_yaml, validation_problems

RULE_SUFFIXES = (".yaml", ".yml")


@dataclass
class RuleSet:
    """The rules that loaded, and the problems of the files that did not."""

    rules: list[Rule] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def rule_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise ConfigError(Problem(directory, 0, 0, "rules directory does not exist"))
    return sorted(p for p in directory.iterdir() if p.suffix in RULE_SUFFIXES and p.is_file())


def load_rule(path: Path) -> Rule:
    source = read_yaml(path)
    if not isinstance(source.data, dict):
        raise ConfigError(
            source.problem((), "a rule file must be a mapping (id, name, match, ...)")
        )
    try:
        spec = RuleFile.model_validate(source.data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(source, exc, RuleFile)) from None
    try:
        rule = rule_from_file(spec, default_id=path.stem, path=path)
    except TermSyntaxError as exc:
        where = exc.args[1] if len(exc.args) > 1 else ("match",)
        raise ConfigError(source.problem(where, str(exc.args[0]))) from None
    return rule


def load_rules(directory: Path) -> RuleSet:
    """Load every file; a broken file is reported and skipped, never fatal to the others."""
    result = RuleSet()
    seen: dict[str, Path] = {}
    for path in rule_files(directory):
        try:
            rule = load_rule(path)
        except ConfigError as exc:
            result.problems.extend(exc.problems)
            continue
        if rule.id in seen:
            result.problems.append(
                Problem(path, 1, 1, f"duplicate rule id {rule.id!r} (also in {seen[rule.id]})")
            )
            continue
        seen[rule.id] = path
        result.rules.append(rule)
    return result
