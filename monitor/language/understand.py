"""The language layer's reading of one document, once: its figures, its places and the
countries it names (``Facts``). The pipeline's ``understand`` stage stores them with the
article; rules, alerts, search and the pages read them from there. A document that did not
come through the pipeline (``monitor match``, the playground, rule examples) is read on
demand by the shipped lexicon and gazetteer (``default_understanding``)."""

from __future__ import annotations

import functools
import threading
from dataclasses import replace
from pathlib import Path

from monitor.entities import Document, Facts, PlaceRef
from monitor.language.figures import FigureFinder, figure_finder
from monitor.language.places import PlaceFinder, place_finder

MAX_CHARS = 20_000  # of an article's text read for facts: the lead says what matters
_LOCK = threading.Lock()


class Understanding:
    def __init__(self, figures: FigureFinder, places: PlaceFinder) -> None:
        self.figures = figures
        self.places = places

    def facts(self, title: str, text: str) -> Facts:
        body = text[:MAX_CHARS]
        figures = self.figures.find(title, "title") + self.figures.find(body, "text")
        places, countries = self.places.read([("title", title), ("text", body)])
        return Facts(tuple(figures), tuple(places), tuple(sorted(countries)))

    def read(self, doc: Document) -> Document:
        """The document with its facts (read now unless it has them)."""
        if doc.facts is not None:
            return doc
        return replace(doc, facts=self.facts(doc.title, doc.text))

    def place(self, name: str) -> PlaceRef | None:
        """The gazetteer entry a rule's place name means: "Brest", "Мозырь", "Zyabrovka"."""
        found = self.places.find(name[:1].upper() + name[1:], "text")
        return found[0] if found else None


def understanding(lexicon: Path | None = None, sites: Path | None = None) -> Understanding:
    return Understanding(figure_finder(lexicon), place_finder(sites))


@functools.cache
def default_understanding() -> Understanding:
    with _LOCK:
        return understanding()
