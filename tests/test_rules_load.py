from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.rules import load_rule, load_rules
from tests.conftest import REPO

GOOD = "name: Good\nseverity: low\nmatch:\n  any: [troop*]\n"


def rule(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = rule(tmp_path, "r.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_rule(path)
    return [str(p) for p in err.value.problems]


def test_id_defaults_to_file_stem_and_notify_to_default(tmp_path: Path) -> None:
    loaded = load_rule(rule(tmp_path, "my-rule.yaml", GOOD))
    assert loaded.id == "my-rule"
    assert loaded.notify == ("default",)


def test_unknown_key_gets_did_you_mean_with_line(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "name: X\nseverity: low\nnotfiy: [desk]\nmatch:\n  any: [a]\n")
    assert found == [f"{tmp_path / 'r.yaml'}:3:1: unknown key 'notfiy' (did you mean 'notify'?)"]


def test_unknown_key_inside_match_block(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "name: X\nseverity: low\nmatch:\n  anyy: [a]\n  all: [b]\n")
    assert found == [f"{tmp_path / 'r.yaml'}:4:3: unknown key 'anyy' (did you mean 'any'?)"]


def test_empty_list_is_an_error(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "name: X\nseverity: low\nmatch:\n  any: []\n")
    assert len(found) == 1 and ":4:8: match.any: List should have at least 1 item" in found[0]


def test_bad_severity_is_located(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "name: X\nseverity: urgent\nmatch:\n  any: [a]\n")
    assert (
        ":2:11: severity: Input should be 'info', 'low', 'medium', 'high' or 'critical'" in found[0]
    )


def test_bad_term_is_located(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path, "name: X\nseverity: low\nmatch:\n  any:\n    - ok\n    - 'tro*op'\n"
    )
    assert found == [
        f"{tmp_path / 'r.yaml'}:6:7: term 'tro*op': '*' is allowed only at the end of a word"
    ]


def test_a_nested_block_of_none_alone_is_refused_once(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "name: X\nseverity: low\nmatch:\n  any:\n    - none: [a]\n")
    assert found == [
        f"{tmp_path / 'r.yaml'}:5:7: match.any.0: Value error, a match block needs "
        "'all', 'any', 'at_least'/'of', 'near' or 'query' (a rule cannot fire on 'none', "
        "'figure' or 'place' alone)"
    ]


def test_none_alone_is_refused(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "name: X\nseverity: low\nmatch:\n  none: [a]\n")
    assert "needs 'all', 'any'" in found[0]


def test_a_broken_file_never_stops_the_others(tmp_path: Path) -> None:
    rule(tmp_path, "a.yaml", GOOD)
    rule(tmp_path, "b.yaml", "name: [broken\n")
    rule(tmp_path, "c.yaml", GOOD.replace("Good", "Also good"))
    rule(tmp_path, "notes.txt", "not a rule")
    result = load_rules(tmp_path)
    assert [r.id for r in result.rules] == ["a", "c"]
    assert len(result.problems) == 1 and str(result.problems[0]).startswith(
        f"{tmp_path / 'b.yaml'}:"
    )


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    rule(tmp_path, "a.yaml", "id: same\n" + GOOD)
    rule(tmp_path, "b.yaml", "id: same\n" + GOOD)
    result = load_rules(tmp_path)
    assert [r.id for r in result.rules] == ["same"]
    assert "duplicate rule id 'same'" in str(result.problems[0])


def test_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nowhere:0:0: rules directory does not exist"):
        load_rules(tmp_path / "nowhere")


def test_shipped_rules_load_cleanly() -> None:
    result = load_rules(REPO / "rules")
    assert result.problems == []
    assert {"troop-movements", "belarus-border-activity"} <= {r.id for r in result.rules}


def test_a_number_where_a_term_belongs_is_reported(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "name: X\nseverity: low\nmatch:\n  any: [5]\n")
    assert found and all(":4:9: match.any.0: Input should be a valid" in f for f in found)


def test_deep_nesting_and_alias_bombs_are_located_errors(tmp_path: Path) -> None:
    deep_query = "name: Deep\nseverity: low\nquery: '" + "(" * 500 + "troops" + ")" * 500 + "'\n"
    [problem] = problems_of(tmp_path, deep_query)
    assert problem.startswith(f"{tmp_path / 'r.yaml'}:3:") and "nested more than 32 deep" in problem
    nested = "any: [troops]"
    for _ in range(200):
        nested = f"any: [{{{nested}}}]"
    [problem] = problems_of(tmp_path, f"name: Deep\nseverity: low\nmatch: {{{nested}}}\n")
    assert "nested too deeply" in problem
    bomb = ["a0: &a0 [troops, troops, troops, troops, troops, troops, troops, troops, troops]"]
    for n in range(1, 10):
        bomb.append(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]")
    text = "\n".join(bomb) + "\nname: Bomb\nseverity: low\nmatch: {any: *a9}\n"
    [problem] = problems_of(tmp_path, text)
    assert "too large" in problem and "aliases expanded" in problem


def test_a_long_query_of_many_terms_is_read(tmp_path: Path) -> None:
    terms = " OR ".join(f"term{n}" for n in range(20_000))
    path = rule(tmp_path, "many.yaml", f"name: Many\nseverity: low\nquery: '{terms}'\n")
    assert len(list(load_rule(path).match.iter_terms())) == 20_000


def test_every_bad_term_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        'name: X\nseverity: low\nmatch:\n  any:\n    - "troops*x"\n    - ok\n    - re:/(/\n'
        "  none: ['a\"b']\n",
    )
    assert [p.split(": ", 1)[0] for p in found] == [
        f"{tmp_path / 'r.yaml'}:5:7",
        f"{tmp_path / 'r.yaml'}:7:7",
        f"{tmp_path / 'r.yaml'}:8:10",
    ]
    assert "allowed only at the end" in found[0] and "RE2" in found[1] and "quote" in found[2]


def test_a_double_quoted_regex_gets_the_single_quote_advice(tmp_path: Path) -> None:
    [found] = problems_of(tmp_path, 'name: Y\nseverity: low\nquery: "re:/\\d+ troops/"\n')
    assert "unknown escape character" in found and "write a regex in single quotes" in found
