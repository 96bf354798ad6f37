"""Language identification among the configured languages; the feed's language a hint."""

from __future__ import annotations

import pytest
import yaml

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.language import DEFAULT_LANGUAGES, LanguageIdentifier
from tests.conftest import REPO

IDENTIFIER = LanguageIdentifier(DEFAULT_LANGUAGES)

# Short headlines written for this test: the hardest case, a few words and no body.
HEADLINES = [
    ("en", "Belarus moves brigades to the border"),
    ("en", "Drone crashes near Vilnius"),
    ("en", "Lukashenko orders snap combat readiness check"),
    ("en", "Russian troops arrive in Brest"),
    ("ru", "Войска переброшены к границе"),
    ("ru", "Лукашенко объявил внезапную проверку"),
    ("ru", "Колонна техники замечена у Мозыря"),
    ("ru", "В Беларусь прибыли российские военные"),
    ("ru", "Призыв резервистов на сборы"),
    ("uk", "Війська перекинуто до кордону"),
    ("uk", "Лукашенко оголосив раптову перевірку"),
    ("uk", "Колону техніки помітили біля Мозиря"),
    ("uk", "До Білорусі прибули російські військові"),
    ("uk", "Прикордонники посилили охорону кордону"),
    ("be", "Войскі перакінуты да мяжы з Украінай"),
    ("pl", "Wojska przy granicy z Białorusią"),
    ("pl", "Straż Graniczna zatrzymała grupę migrantów"),
    ("lt", "Pasieniečiai sulaikė neteisėtus migrantus"),
    ("lv", "Robežsargi aizturēja nelegālos migrantus"),
    ("de", "Truppen an der Grenze zu Belarus verlegt"),
]


def test_the_labelled_articles_are_identified() -> None:
    items = yaml.safe_load((REPO / "tests" / "eval" / "articles.yaml").read_text("utf-8"))
    right = sum(IDENTIFIER.identify(i["title"], i["text"]) == i["lang"] for i in items)
    accuracy = right / len(items)
    print(f"\nlanguage identification: {right}/{len(items)} articles, accuracy {accuracy:.3f}")
    assert accuracy >= 0.98


def test_short_headlines_are_identified() -> None:
    """Alone, a few Latin-script words can read as another Latin-script language; with the
    feed's language as a hint every one is right, and a wrong hint is still overruled."""
    alone = [(lang, t) for lang, t in HEADLINES if IDENTIFIER.identify(t) != lang]
    hinted = [(lang, t) for lang, t in HEADLINES if IDENTIFIER.identify(t, "", lang) != lang]
    print(f"\nheadlines alone: {len(HEADLINES) - len(alone)}/{len(HEADLINES)}, wrong: {alone}")
    print(f"headlines with the feed's language: {len(HEADLINES) - len(hinted)}/{len(HEADLINES)}")
    assert len(alone) <= 2 and hinted == []
    wrong_hint = [(lang, t) for lang, t in HEADLINES if lang in {"ru", "uk"}]
    assert all(IDENTIFIER.identify(t, "", "en") == lang for lang, t in wrong_hint)
    # a Russian feed's Ukrainian headline: і is no Russian letter
    assert IDENTIFIER.identify("Війська перекинуто до кордону", "", "ru") == "uk"


def test_the_feeds_language_is_a_hint_believed_only_for_too_little_text() -> None:
    russian = "Минобороны сообщило о переброске войск к границе"
    assert IDENTIFIER.identify(russian, "", hint="en") == "ru"
    assert IDENTIFIER.identify("Ок", "", hint="uk") == "uk"
    assert IDENTIFIER.identify("", "", hint="fr") is None  # not a configured language
    assert IDENTIFIER.identify("", "") is None


def test_only_the_configured_languages_are_answered() -> None:
    two = LanguageIdentifier(("en", "ru"))
    assert two.identify("Війська перекинуто до кордону з Білоруссю") in {"en", "ru"}
    assert LanguageIdentifier(("uk",)).identify("Anything at all") == "uk"


def test_languages_are_configured_by_environment_with_clear_errors() -> None:
    assert Config.from_env({"MONITOR_LANGUAGES": "RU, uk,ru"}).languages == ("ru", "uk")
    with pytest.raises(ConfigError, match="MONITOR_LANGUAGES: 'russian' is not a two-letter"):
        Config.from_env({"MONITOR_LANGUAGES": "russian"})
    with pytest.raises(ConfigError, match="MONITOR_LANGUAGES: 'xx' is not a language lingua"):
        LanguageIdentifier(("en", "xx"))
