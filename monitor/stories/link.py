"""Same story or not, from signals that survive translation: the embedding of title and
lead, and the anchors both name (figures, places, people, units).

An article joins the story of the closest earlier article within the window whose score
reaches the threshold for their two languages:

    score = cosine + ANCHOR_BONUS x (shared anchors, at most 3)

and never one whose figures contradict it (9,000 troops against 13,000 troops: two
drills). The thresholds differ by language pair because the embedding places a report
and its translation further apart than two reports in one language; Russian and
Ukrainian sit between. They were set on the labelled set in ``tests/eval/stories.yaml``
(``tests/test_link.py`` prints its precision and recall).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.entities import Document
from monitor.stories.anchors import Anchors, anchors
from monitor.stories.embed import Embedder, cosines, lead

ANCHOR_BONUS = 0.01
ANCHOR_CHARS = 600  # of the text read for names and numbers (cheap: the lead and a little)
MERGE_MARGIN = 0.01
BONUS_ANCHORS = 3
CLOSE_LANGUAGES = frozenset({frozenset({"ru", "uk"}), frozenset({"ru", "be"})})


@dataclass(frozen=True)
class LinkSettings:
    """Cosine (with the anchors' bonus) that makes one story, by language pair."""

    same_language: float = 0.935
    close_languages: float = 0.90
    other_languages: float = 0.845

    def needed(self, a: str | None, b: str | None) -> float:
        if a == b or a is None or b is None:
            return self.same_language
        if frozenset({a, b}) in CLOSE_LANGUAGES:
            return self.close_languages
        return self.other_languages


LINKS = LinkSettings()  # the defaults


@dataclass(frozen=True)
class Reading:
    """What linking knows of an article: its language, embedding and anchors."""

    language: str | None
    vector: bytes
    anchors: Anchors


def read(embedder: Embedder, doc: Document) -> Reading:
    """What linking knows of a document: its title and lead embedded, and its anchors."""
    [vector] = embedder.embed([lead(doc.title, doc.text)])
    return Reading(doc.language, vector, anchors(doc.title, doc.text[:ANCHOR_CHARS], doc.facts))


@dataclass(frozen=True)
class Link:
    """Why two articles are, or are not, one story."""

    cosine: float
    shared: tuple[str, ...]
    conflicts: tuple[str, ...]
    needed: float

    @property
    def score(self) -> float:
        return self.cosine + ANCHOR_BONUS * min(len(self.shared), BONUS_ANCHORS)

    @property
    def same(self) -> bool:
        return not self.conflicts and self.score >= self.needed

    def why(self) -> str:
        """ "cosine 0.91 + 2 shared (=brst, troops:9000) >= 0.85" and the like."""
        parts = [f"cosine {self.cosine:.3f}"]
        if self.shared:
            parts.append(f"+ {len(self.shared)} shared ({', '.join(self.shared)})")
        verdict = ">=" if self.score >= self.needed else "<"
        text = f"{' '.join(parts)} {verdict} {self.needed:.3f}"
        if self.conflicts:
            text += f"; figures differ ({', '.join(self.conflicts)})"
        return text


def compare(a: Reading, b: Reading, settings: LinkSettings, cosine: float | None = None) -> Link:
    if cosine is None:
        cosine = cosines(a.vector, [b.vector])[0]
    return Link(
        cosine=round(cosine, 4),
        shared=tuple(a.anchors.shared(b.anchors)),
        conflicts=tuple(a.anchors.conflicts(b.anchors)),
        needed=settings.needed(a.language, b.language),
    )


def ranked(
    reading: Reading, others: Sequence[Reading], settings: LinkSettings
) -> list[tuple[int, Link]]:
    """The other articles this one reports the same story as (index, why), closest first."""
    found = []
    for i, cosine in enumerate(cosines(reading.vector, [o.vector for o in others])):
        link = compare(reading, others[i], settings, cosine)
        if link.same:
            found.append((i, link))
    return sorted(found, key=lambda f: -f[1].score)


def closest(
    reading: Reading, others: Sequence[Reading], settings: LinkSettings
) -> tuple[int, Link] | None:
    """The other article this one reports the same story as (index, why), if any."""
    found = ranked(reading, others, settings)
    return found[0] if found else None


def joins(link: Link) -> bool:
    """Whether a report close to a second story too shows the two are one: its link to
    that story must clear the threshold by MERGE_MARGIN, so that one borderline report
    never chains two events together."""
    return link.same and link.score >= link.needed + MERGE_MARGIN


def group(readings: Sequence[Reading], settings: LinkSettings) -> list[int]:
    """Stories as the store makes them for reports arriving in this order: each report's
    story (the position of its story's first report), merges included."""
    story: list[int] = []
    for n, reading in enumerate(readings):
        found = ranked(reading, readings[:n], settings)
        if not found:
            story.append(n)
            continue
        chosen = story[found[0][0]]
        also = {story[m] for m, link in found[1:] if joins(link)}
        keep = min(also | {chosen})
        story = [keep if s in also | {chosen} else s for s in story]
        story.append(keep)
    return story
