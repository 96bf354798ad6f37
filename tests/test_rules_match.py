from pathlib import Path

from monitor.entities import Document, Severity
from monitor.rules import compile_rules
from monitor.rules.build import build_tree
from monitor.rules.match import snippet
from monitor.rules.model import MatchBlock
from monitor.rules.tree import Rule


def make(rule_id: str, block: dict[str, object], notify: tuple[str, ...] = ("default",)) -> Rule:
    return Rule(
        id=rule_id,
        name=rule_id.title(),
        severity=Severity.high,
        notify=notify,
        match=build_tree(MatchBlock.model_validate(block), ("match",), "any"),
        path=Path("x.yaml"),
    )


def fired(rules: list[Rule], title: str, text: str = "") -> set[str]:
    return {h.rule_id for h in compile_rules(rules).match(Document(title, text))}


def test_all_any_none() -> None:
    r = make("r", {"all": ["belarus"], "any": ["troops", "army"], "none": ["hockey"]})
    assert fired([r], "Belarus army on alert") == {"r"}
    assert fired([r], "Belarus", "troops arrive") == {"r"}
    assert fired([r], "Belarus economy") == set()
    assert fired([r], "Belarus army hockey team wins") == set()


def test_nested_blocks() -> None:
    r = make("r", {"all": [{"any": ["troop*", "soldier*"]}, {"any": ["deploy*", "moved"]}]})
    assert fired([r], "Soldiers deployed") == {"r"}
    assert fired([r], "Soldiers rest") == set()


def test_case_insensitive_prefix_and_word_boundaries() -> None:
    r = make("r", {"any": ["troop*"]})
    assert fired([r], "TROOPS massing") == {"r"}
    assert fired([r], "the ostroop village") == set()
    assert fired([r], "troupe performs") == set()


def test_phrases_need_adjacent_words_and_allow_wildcards() -> None:
    r = make("r", {"any": ['"border guard*"']})
    assert fired([r], "Border  guards report drones") == {"r"}
    assert fired([r], "guards at the border") == set()


def test_inflected_russian_and_ukrainian_by_prefix() -> None:
    r = make("r", {"all": [{"any": ["білорус*", "беларус*"]}, {"any": ["військ*", "войск*"]}]})
    assert fired([r], "Білоруські військові на кордоні") == {"r"}
    assert fired([r], "Войска у границы Беларуси") == {"r"}
    assert fired([r], "Войска ушли") == set()


def test_yo_is_matched_as_ye() -> None:
    r = make("r", {"any": ["перебросил*"]})
    assert fired([r], "Перебросилё") == {"r"}


def test_evidence_names_terms_fields_and_quotes_the_text() -> None:
    r = make("r", {"all": ["belarus*"], "any": ["brigade*"]}, notify=("desk",))
    text = (
        "Intro sentence about nothing in particular. " * 5
        + "Two brigades moved north. "
        + "Closing words. " * 10
    )
    [hit] = compile_rules([r]).match(Document("Belarus on alert", text))
    assert hit.channels == ("desk",)
    assert hit.score == 2
    assert [(e.term, e.field) for e in hit.evidence] == [
        ("belarus*", "title"),
        ("brigade*", "text"),
    ]
    assert "Two brigades moved north." in hit.evidence[1].snippet
    assert hit.evidence[1].snippet.startswith("…") and hit.evidence[1].snippet.endswith("…")
    assert len(hit.evidence[1].snippet) < 240


def test_snippet_at_text_edges_has_no_ellipsis() -> None:
    assert snippet("short text", 0, 5) == "short text"


def test_disabled_rules_never_fire() -> None:
    r = make("r", {"any": ["troops"]})
    off = Rule(**{**r.__dict__, "enabled": False})
    assert fired([off], "troops") == set()


def test_many_rules_only_matching_ones_fire() -> None:
    rules = [make(f"r{i}", {"any": [f"word{i}"]}) for i in range(500)]
    assert fired(rules, "word7 and word499 and word1000") == {"r7", "r499"}
