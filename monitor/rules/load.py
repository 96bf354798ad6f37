"""Reading the rules directory: one rule per ``*.yaml`` file, every problem located."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from monitor.errors import ConfigError, Problem
from monitor.rules.build import TermSyntaxErrors, rule_from_file
from monitor.rules.model import RuleFile
from monitor.rules.query import caret
from monitor.rules.tree import Rule, TermSyntaxError
from monitor.yamlsrc import YamlSource, read_yaml, validation_problems

RULE_SUFFIXES = (".yaml", ".yml")


@dataclass
class RuleSet:
    """The rules that loaded, and the problems of the files that did not."""

    rules: list[Rule] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    failed_files: set[Path] = field(default_factory=set)


def rule_files(directory: Path) -> list[Path]:
    if directory.is_file():
        return [directory]
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
    except TermSyntaxErrors as exc:  # every bad term of the file, not one per fix
        raise ConfigError([_term_problem(source, e) for e in exc.errors]) from None
    except TermSyntaxError as exc:
        raise ConfigError(_term_problem(source, exc)) from None
    from monitor.rules.match import fires_on_nothing

    if fires_on_nothing(rule):
        where = ("query",) if spec.query is not None else ("match",)
        raise ConfigError(source.problem(where, "this rule fires on every article"))
    return rule


def _term_problem(source: YamlSource, exc: TermSyntaxError) -> Problem:
    if exc.offset is None:
        return source.problem(exc.path, str(exc))
    line, column = source.locate_offset(exc.path, exc.offset)
    value = source.data
    for part in exc.path:
        value = value[part]
    return Problem(source.path, line, column, f"query: {exc}\n{caret(str(value), exc.offset)}")


def load_rules(directory: Path) -> RuleSet:
    """Load every file; a broken file is reported and skipped, never fatal to the others."""
    result = RuleSet()
    seen: dict[str, Path] = {}
    for path in rule_files(directory):
        try:
            rule = load_rule(path)
        except ConfigError as exc:
            result.problems.extend(exc.problems)
            result.failed_files.add(path)
            continue
        except Exception as exc:  # whatever a file does, the other files still load
            result.problems.append(Problem(path, 1, 1, f"cannot load: {type(exc).__name__}"))
            result.failed_files.add(path)
            continue
        if rule.id in seen:
            line, column = read_yaml(path).locate(("id",))
            result.problems.append(
                Problem(
                    path, line, column, f"duplicate rule id {rule.id!r} (also in {seen[rule.id]})"
                )
            )
            result.failed_files.add(path)
            continue
        seen[rule.id] = path
        result.rules.append(rule)
    return result
