"""The shipped rules on real articles (../shared/corpus) and on near misses."""

import pytest

from monitor.entities import Document
from monitor.rules import compile_rules, load_rules
from tests.conftest import CORPUS, REPO

SHIPPED = ("troop-movements", "belarus-border-activity")


@pytest.fixture(scope="module")
def matcher():  # type: ignore[no-untyped-def]
    return compile_rules(load_rules(REPO / "rules").rules)


def fired(matcher, title: str, text: str = "") -> set[str]:  # type: ignore[no-untyped-def]
    return {h.rule_id for h in matcher.match(Document(title, text))}


def test_corpus_is_present() -> None:
    assert len(sorted(CORPUS.glob("*.txt"))) >= 3


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.name)
def test_both_rules_fire_on_every_corpus_article(matcher, path) -> None:  # type: ignore[no-untyped-def]
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    assert set(SHIPPED) <= fired(matcher, title, body)


@pytest.mark.parametrize(
    "title",
    [
        "Russian troops redeployed to Belarus ahead of drills",
        "Россия перебрасывает войска в Беларусь",
        "Росія перекидає війська до Білорусі",
    ],
)
def test_both_rules_in_three_languages(matcher, title: str) -> None:  # type: ignore[no-untyped-def]
    assert set(SHIPPED) <= fired(matcher, title)


@pytest.mark.parametrize(
    "title",
    [
        "Scout troop moved its summer camp to the lake",
        "Belarus national hockey team moved to the second round",
        "Minsk book fair opens with record attendance",
    ],
)
def test_near_misses_do_not_fire(matcher, title: str) -> None:  # type: ignore[no-untyped-def]
    assert fired(matcher, title) == set()
