import pickle
from pathlib import Path

from monitor.entities import Document, Severity
from monitor.rules import compile_rules
from monitor.rules.build import build_tree
from monitor.rules.match import snippet
from monitor.rules.model import MatchBlock
from monitor.rules.tree import Pattern, Rule, Term


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


def test_snippet_runs_of_whitespace_are_one_space() -> None:
    """Newlines, tabs, no-break and em spaces between words, and at the ends, as in text
    extracted from a page."""
    text = "\n Troops\t\tmoved\u00a0\u2003north,\r\nsaid officials.  \n"
    assert snippet(text, 2, 8) == "Troops moved north, said officials."


def test_disabled_rules_never_fire() -> None:
    r = make("r", {"any": ["troops"]})
    off = Rule(**{**r.__dict__, "enabled": False})
    assert fired([off], "troops") == set()


def test_many_rules_only_matching_ones_fire() -> None:
    rules = [make(f"r{i}", {"any": [f"word{i}"]}) for i in range(500)]
    assert fired(rules, "word7 and word499 and word1000") == {"r7", "r499"}


def rule_from(yaml_text: str, tmp_path: Path) -> Rule:
    from monitor.rules import load_rule

    path = tmp_path / "r.yaml"
    path.write_text("name: R\nseverity: high\n" + yaml_text, encoding="utf-8")
    return load_rule(path)


def test_query_and_tree_forms_fire_alike(tmp_path: Path) -> None:
    by_query = rule_from("query: '(troop* OR войск*) AND belarus* NOT hockey'\n", tmp_path)
    by_tree = rule_from(
        "match:\n  all:\n    - any: [troop*, войск*]\n    - belarus*\n  none: [hockey]\n", tmp_path
    )
    for title, expected in [
        ("Troops in Belarus", True),
        ("Войска Belarus", True),
        ("Troops in Belarus hockey", False),
        ("Troops", False),
    ]:
        assert bool(fired([by_query], title)) is expected
        assert bool(fired([by_tree], title)) is expected


def test_at_least(tmp_path: Path) -> None:
    r = rule_from("match:\n  at_least: 2\n  of: [tank*, artillery, drone*]\n", tmp_path)
    assert fired([r], "Tanks and drones") == {"r"}
    assert fired([r], "Tanks only") == set()


def test_near_counts_words_within_a_field(tmp_path: Path) -> None:
    r = rule_from("match:\n  near: {terms: [troop*, border], within: 3}\n", tmp_path)
    assert fired([r], "Troops massed at the border") == {"r"}
    assert fired([r], "Troops rested. Far away, many days later, at the border") == set()
    assert fired([r], "Troops", "border") == set()  # different fields


def test_field_restriction(tmp_path: Path) -> None:
    r = rule_from("match:\n  field: title\n  any: [troop*]\n", tmp_path)
    assert fired([r], "Troops move", "") == {"r"}
    assert fired([r], "Sidebar", "Troops move") == set()


def test_regex_terms_on_folded_text(tmp_path: Path) -> None:
    r = rule_from("match:\n  any: ['re:\\bt-\\d{2}\\b']\n", tmp_path)
    assert fired([r], "New T-72 tanks") == {"r"}
    assert fired([r], "New T-7 tanks") == set()


def test_weights_and_threshold(tmp_path: Path) -> None:
    r = rule_from(
        "threshold: 3\nmatch:\n  any: ['mobilization^3', conscript*, 'call-up', draft]\n", tmp_path
    )
    [hit] = compile_rules([r]).match(Document("Mobilization announced", ""))
    assert hit.score == 3
    assert fired([r], "Conscripts and a draft") == set()  # 2 < 3
    assert fired([r], "Conscripts, a draft and a call-up") == {"r"}


def test_hyphenated_words_match_with_or_without_hyphen(tmp_path: Path) -> None:
    r = rule_from("match:\n  any: [air-defence]\n", tmp_path)
    for title in ("Air-defence units", "air defence units", "airdefence units"):
        assert fired([r], title) == {"r"}
    s = rule_from("match:\n  any: [soldier*]\n", tmp_path)
    assert fired([s], "An ex-soldier spoke") == {"r"}


def test_scope_by_language_and_feed(tmp_path: Path) -> None:
    r = rule_from("languages: [ru, uk]\nfeeds: [belarus]\nmatch:\n  any: [войск*]\n", tmp_path)
    m = compile_rules([r])
    assert m.match(Document("Войска", "", language="ru", feed="X", tags=("belarus",)))
    assert not m.match(Document("Войска", "", language="en", feed="X", tags=("belarus",)))
    assert not m.match(Document("Войска", "", language="ru", feed="X", tags=("sport",)))
    assert m.match(Document("Войска", "", language=None, feed=None))  # unknown: in scope


def test_evidence_quotes_original_text_when_folding_changes_length(tmp_path: Path) -> None:
    r = rule_from("match:\n  any: [troop*]\n", tmp_path)
    [hit] = compile_rules([r]).match(Document("", "Die Straße: ﬁve Troops here"))
    assert "Troops here" in hit.evidence[0].snippet


def test_near_with_alternatives_in_yaml_and_query(tmp_path: Path) -> None:
    yaml_rule = rule_from(
        "match:\n  near:\n    terms: [[belarus*, russia*], [mobiliz*, conscript*]]\n"
        "    within: 4\n",
        tmp_path,
    )
    query_rule = rule_from(
        "query: '(belarus* OR russia*) NEAR/4 (mobiliz* OR conscript*)'\n", tmp_path
    )
    for r in (yaml_rule, query_rule):
        assert fired([r], "Russia announces a new mobilization wave") == {"r"}
        assert fired([r], "Conscripts in Belarus") == {"r"}
        assert fired([r], "Russia said on Monday that after many long talks, conscripts") == set()


def test_a_term_keeps_its_hash_but_a_copy_computes_its_own() -> None:
    term = Term("troops", (Pattern((("troops", False),)),))
    twin = Term("troops", (Pattern((("troops", False),)),))
    assert hash(term) == hash(twin) and {term: 1}[twin] == 1
    copied = pickle.loads(pickle.dumps(term))  # string hashes differ between processes
    assert "_hash" not in copied.__dict__
    assert copied == term and hash(copied) == hash(term)


def test_evidence_follows_the_rules_order_of_terms_and_stops_at_five() -> None:
    """Matched terms are found from the patterns a document holds, not by testing each of
    the rule's terms: the evidence still lists them in the rule's order, however the text
    orders them, a term sharing a pattern with another counts once, and only five are
    quoted while all count towards the score."""
    terms = ["tank*", "troop*", "brigade*", "convoy*", "artillery", "drone*", "border"]
    r = make("r", {"any": [*terms, "troops"]})  # "troops" shares a word with "troop*"
    text = "A border drone saw artillery, a convoy and a brigade; troops and tanks."
    [hit] = compile_rules([r]).match(Document("", text))
    assert hit.score == 8
    assert [e.term for e in hit.evidence] == terms[:5]
