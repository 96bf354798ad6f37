from monitor.rules.text import normalize, tokenize


def test_normalisation_folds_case_yo_accents_and_apostrophes() -> None:
    assert normalize("ЁЛКА") == "елка"
    assert normalize("Café") == "cafe"
    assert normalize("й") == "й"  # Cyrillic short i keeps its breve
    assert normalize("ї") == "ї"
    assert normalize("м’ясо") == normalize("мʼясо") == normalize("м'ясо")
    assert normalize("ﬁre") == "fire"  # NFKC


def test_tokens_keep_original_spans() -> None:
    text = "Війська РФ — біля кордону!"
    tokens = tokenize(text)
    assert [t.norm for t in tokens] == ["війська", "рф", "біля", "кордону"]
    assert [text[t.start : t.end] for t in tokens] == ["Війська", "РФ", "біля", "кордону"]
