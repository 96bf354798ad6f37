from monitor.extract import extract_page, fragment_text
from tests.content import TROOPS_TEXT, page


def test_article_text_without_boilerplate() -> None:
    extracted = extract_page(page("Belarus moves brigades", TROOPS_TEXT), "http://e.org/a")
    assert extracted is not None
    assert "mechanised brigades" in extracted.text
    for junk in ("cookies", "newsletter", "Copyright", "Subscribe", "dataLayer"):
        assert junk not in extracted.text
    assert extracted.title.startswith("Belarus moves brigades")


def test_empty_page_gives_none() -> None:
    assert extract_page(b"<html><body></body></html>") is None
    assert extract_page(b"") is None


def test_fragment_text_drops_markup_and_scripts() -> None:
    assert fragment_text("<p>A &amp; B</p><script>alert(1)</script>") == "A & B"
    assert fragment_text("plain") == "plain"
