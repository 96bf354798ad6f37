import pytest

from monitor.rules.query import caret, parse_query, tokenize
from monitor.rules.tree import Group, Near, Term, TermSyntaxError


def test_the_issue_example_parses_to_and_of_or_groups_with_not() -> None:
    q = (
        '(belarus* OR lukashenk* OR "білорус*") AND (troop* OR brigade* OR войск*) '
        "NOT (hockey OR football)"
    )
    tree = parse_query(q)
    assert isinstance(tree, Group) and tree.op == "all"
    first, _second, third = tree.children
    assert isinstance(first, Group) and first.op == "any"
    assert [t.text for t in first.children if isinstance(t, Term)] == [
        "belarus*",
        "lukashenk*",
        '"білорус*"',
    ]
    assert isinstance(third, Group) and third.op == "none"


def test_precedence_and_implicit_and() -> None:
    tree = parse_query("a b OR c")
    assert isinstance(tree, Group) and tree.op == "any"
    assert isinstance(tree.children[0], Group) and tree.children[0].op == "all"


def test_near_fields_weights_and_regex() -> None:
    tree = parse_query(r'title:(troops NEAR/5 border) re:/\bt-\d+/^2 "air defence"^3')
    assert isinstance(tree, Group)
    near, regex, phrase = tree.children
    assert isinstance(near, Near) and near.within == 5
    assert all(t.field == "title" for t in near.terms)
    assert isinstance(regex, Term) and regex.weight == 2 and regex.patterns[0].regex == r"\bt-\d+"
    assert isinstance(phrase, Term) and phrase.weight == 3
    assert phrase.patterns[0].parts == (("air", False), ("defence", False))


def test_operators_in_any_case() -> None:
    assert parse_query("a or b") == parse_query("a OR b")
    assert [t.kind for t in tokenize("a near/3 b")] == ["word", "near", "word"]


@pytest.mark.parametrize(
    "query, message, offset",
    [
        ("(a OR b", "expected ')' to close the '(' here", 0),
        ("a OR", "the query ends where a term was expected", 4),
        ('a "b c', "unclosed quote", 2),
        ("NEAR/3 x", "expected a term, found 'NEAR/3'", 0),
        ("a NEAR/2 (b c)", "NEAR joins terms or (a OR b) groups of terms", 2),
        ("", "empty query", 0),
        ("a )", "unexpected ')'", 2),
        ("re:/(a)\\1/", "the regex engine (RE2) refuses it", 0),
    ],
)
def test_syntax_errors_say_where(query: str, message: str, offset: int) -> None:
    with pytest.raises(TermSyntaxError) as err:
        parse_query(query)
    assert message in str(err.value)
    assert err.value.offset == offset


def test_caret_points_at_the_offset() -> None:
    assert caret("(a OR b", 7) == "    (a OR b\n           ^"
