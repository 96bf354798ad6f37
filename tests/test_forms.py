"""Word forms from the dictionaries (pymorphy3 ru/uk, lemminflect en), and rules matching
every form of a plain word in English, Russian and Ukrainian, with prefixes, exact forms,
acronyms, phrases and case kept as operators mean them."""

from __future__ import annotations

import pytest

from monitor.entities import Document, Severity
from monitor.language.forms import analyse, forms_of, suggestions
from monitor.rules.match import Matcher
from monitor.rules.query import parse_query
from monitor.rules.tree import Group, Rule, TermSyntaxError, parse_term


def fires(term: str, text: str) -> bool:
    rule = Rule("r", "R", Severity.low, ("d",), Group("any", (parse_term(term),)))
    return bool(Matcher([rule]).match(Document(text, "")))


def test_a_base_form_has_every_form_of_its_paradigms() -> None:
    assert {"кордону", "кордонів", "кордоном"} <= forms_of("кордон")  # uk
    assert {"кордона", "кордонов"} <= forms_of("кордон")  # ru has the word too
    assert {"войска", "войсками", "войск"} <= forms_of("войско")
    assert {"troops", "trooped"} <= forms_of("troop")
    assert {"moved", "moving", "moves"} <= forms_of("move")
    # all analyses count: танками is a form of танк though the likeliest parse says танок
    assert "танками" in forms_of("танк")
    assert "полковник" not in forms_of("полк")


def test_unknown_words_and_inflected_forms_stand_for_themselves() -> None:
    assert forms_of("искандер-м") == {"искандер-м"}
    assert forms_of("кардон") == {"кардон"}  # a misspelling: as written
    assert not analyse("полки").is_base and "полк" in analyse("полки").base_forms
    assert forms_of("полки") == {"полки"}


def test_suggestions_name_the_base_forms() -> None:
    said = suggestions(["полки", "кардон", "кордон"])
    assert set(said) == {"полки", "кардон"}
    assert "did you mean" in said["полки"] and "полк" in said["полки"]
    assert "not a known word" in said["кардон"]


@pytest.mark.parametrize(
    ("term", "text", "expected"),
    [
        ("кордон", "Колону помітили біля кордону вночі", True),
        ("кордон", "Вздовж кордонів тривають навчання", True),
        ("troop", "More troops arrived on Monday", True),
        ("войско", "Войсками округа командует генерал", True),
        ("полк", "Два полка перебросили на север", True),
        ("полк", "Полковник прибыл в штаб", False),  # a base form is no prefix
        ("полк*", "Полковник прибыл в штаб", True),  # word* stays a prefix
        ("військовослужбовець", "залучено 9 тисяч військовослужбовців", True),
        ("exact:полки", "полков стало больше", False),
        ("exact:полки", "полки выдвинулись", True),
        ("БПЛА", "Сбит бпла над городом", True),  # an acronym matches as written, any case
        ('"border guard"', "Border guards said the crossing is closed", True),
        ('"военные сборы"', "резервисты прибыли на военных сборах", True),
        ('"військові навчання"', "Початок спільних військових навчань", True),
        ("захід", "Підготовка до Заходу-2025", True),
        ("захід", "Західних партнерів закликали", False),  # western: another word
        ("case:Запад", "учения Запада-2025 начались", True),
        ("case:Запад", "войска ушли на запад страны", False),
        ("case:запад", "войска ушли на запад страны", True),
        ("case:NATO", "nato is a word here", False),
        ("case:NATO", "NATO deploys", True),
    ],
)
def test_a_plain_word_matches_its_forms(term: str, text: str, expected: bool) -> None:
    assert fires(term, text) is expected


def test_near_and_evidence_work_on_forms() -> None:
    rule = Rule(
        "r",
        "R",
        Severity.low,
        ("d",),
        parse_query("войско NEAR/3 граница"),
    )
    matcher = Matcher([rule])
    [hit] = matcher.match(Document("Войска стянуты к границе с Украиной", ""))
    assert next(e.snippet for e in hit.evidence).startswith("Войска стянуты")
    assert not matcher.match(
        Document("Войска прошли парадом по площади в столице, граница далеко", "")
    )


def test_near_without_a_number_is_a_syntax_error() -> None:
    with pytest.raises(TermSyntaxError) as error:
        parse_query("troops NEAR/ border")
    assert error.value.offset == len("troops ") and "NEAR/5" in str(error.value)


def test_options_read_in_the_query_syntax_too() -> None:
    node = parse_query('case:Запад AND exact:"военные сборы"')
    assert isinstance(node, Group)
    case, exact = node.children
    assert case.patterns[0].case == "title"  # type: ignore[union-attr]
    assert exact.patterns[0].forms == ()  # type: ignore[union-attr]
