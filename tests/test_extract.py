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


SENTENCE = "Troops were seen moving toward the border at night, officials said. "
ARTICLE = "<p>" + SENTENCE * 8 + "</p>"


def test_a_widget_heading_is_not_taken_for_the_headline() -> None:
    from monitor.extract import extract_page

    widget = (
        "<html><head><title>Brigades moved to the border overnight | The Outlet</title></head>"
        f"<body><aside><h1>Ask me</h1></aside><article>{ARTICLE}</article></body></html>"
    )
    extracted = extract_page(widget.encode())
    assert extracted is not None and extracted.title == "Brigades moved to the border overnight"
    shared = widget.replace("Ask me", "Share").replace(
        "<head>", '<head><meta property="og:title" content="Колонна войск у Мозыря">'
    )
    extracted = extract_page(shared.encode())
    assert extracted is not None and extracted.title == "Колонна войск у Мозыря"
