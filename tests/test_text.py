from monitor.rules.text import fold, is_word_char, offset_map, prepare, to_original, words


def norm(text: str) -> str:
    return fold(prepare(text))


def test_folding_case_yo_accents_apostrophes_and_nfkc() -> None:
    assert norm("ЁЛКА") == "елка"
    assert norm("Café Zürich") == "cafe zurich"
    assert norm("й") == "й" and norm("и\u0306") == "й"  # Cyrillic short i keeps its breve
    assert norm("Ї") == "ї"
    assert norm("м’ясо") == norm("мʼясо") == norm("м'ясо") == "м'ясо"
    assert norm("ﬁre") == "fire"
    assert norm("за́мок") == "замок"  # stress mark dropped


def test_folding_keeps_offsets_for_ordinary_text() -> None:
    text = "Війська РФ — біля кордону! Troops, café."
    assert len(norm(text)) == len(text)


def test_offsets_map_back_when_lengths_change() -> None:
    prepared = prepare("Straße troops")
    folded = fold(prepared)
    assert folded == "strasse troops"
    starts = offset_map(prepared)
    assert prepared[to_original(starts, folded.index("troops")) :] == "troops"


def test_word_characters_and_apostrophes() -> None:
    assert words(norm("п'ять ex-soldier")) == ["п'ять", "ex", "soldier"]
    assert is_word_char("п'ять", 1) and not is_word_char("'troops'", 0)
