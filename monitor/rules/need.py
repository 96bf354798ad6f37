"""What a document must contain, as words joined by AND and OR: the form a full-text index
can answer (``prefilter``). Each node of a match tree says its own need (``Node.need``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Word:
    text: str  # folded, letters only
    prefix: bool = False


@dataclass(frozen=True)
class Join:
    op: Literal["and", "or"]
    parts: tuple[Need, ...]


Need = Word | Join


def need_all(parts: list[Need | None]) -> Need | None:
    """Every part is needed; a part that cannot be said (None) narrows nothing, so it is
    left out of the AND."""
    known = tuple(dict.fromkeys(p for p in parts if p is not None))
    if not known:
        return None
    return known[0] if len(known) == 1 else Join("and", known)


def need_any(parts: list[Need | None]) -> Need | None:
    """One of the parts is needed; if one of them cannot be said, nothing can be."""
    if not parts or any(p is None for p in parts):
        return None
    flat = [q for p in parts if p is not None for q in _alternatives(p)]
    unique = tuple(dict.fromkeys(flat))
    return unique[0] if len(unique) == 1 else Join("or", unique)


def _alternatives(need: Need) -> tuple[Need, ...]:
    """An OR's parts (so ORs of ORs read as one), else the need itself."""
    return need.parts if isinstance(need, Join) and need.op == "or" else (need,)
