"""Page HTML -> plain text, with trafilatura (main content only, no boilerplate)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import lxml.html
import trafilatura
from lxml.etree import ParserError
from trafilatura.metadata import extract_title
from trafilatura.utils import load_html

_SPACE = re.compile(r"[ \t\r\f\v]+")
_BLOCKS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr")


@dataclass(frozen=True)
class ExtractedPage:
    title: str
    text: str


def extract_page(html: bytes | str, url: str | None = None) -> ExtractedPage | None:
    """The article's title and main text, or None when trafilatura finds no text.

    The page is parsed once; the title is read from that tree and the text extracted without
    trafilatura's metadata pass, whose date search (htmldate) costs more than the
    extraction itself and gives nothing the pipeline uses (feeds carry the dates)."""
    try:
        tree = load_html(html)
        if tree is None:
            return None
        title = page_title(tree)
        doc = trafilatura.bare_extraction(
            tree, url=url, with_metadata=False, include_comments=False, include_tables=True
        )
    except (ValueError, TypeError, ParserError):
        return None
    text = (getattr(doc, "text", None) or "").strip()
    if not text:
        return None
    return ExtractedPage(title=title.strip(), text=text)


_SITE_SUFFIX = re.compile(r"\s+[|\u2013\u2014-]\s+[^|\u2013\u2014-]{1,60}$")


def page_title(tree: lxml.html.HtmlElement) -> str:
    """The headline: the page's own og:title or twitter:title, else trafilatura's pick when
    it reads like one (a lone widget heading such as "Share" or "Ask me" is an <h1> too),
    else the <title> without the site's name."""
    for xpath in (
        '//meta[@property="og:title"]/@content',
        '//meta[@name="twitter:title"]/@content',
    ):
        found = [str(v).strip() for v in tree.xpath(xpath) if str(v).strip()]
        if found:
            return found[0]
    picked = (extract_title(tree) or "").strip()
    if len(picked.split()) >= 3:
        return picked
    element = tree.find(".//title")
    own = _SITE_SUFFIX.sub("", (element.text_content() if element is not None else "").strip())
    return own if len(own.split()) > len(picked.split()) else picked


def fragment_text(fragment: str) -> str:
    """Text of an HTML fragment (a feed's summary); markup and scripts dropped."""
    if "<" not in fragment and "&" not in fragment:
        return fragment.strip()
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ParserError, ValueError):
        return fragment.strip()
    for bad in root.xpath(".//script|.//style"):
        bad.drop_tree()
    for block in root.iter(*_BLOCKS):
        block.tail = "\n" + (block.tail or "")
    lines = (_SPACE.sub(" ", line).strip() for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)
