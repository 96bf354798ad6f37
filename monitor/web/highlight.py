"""Highlighting matched terms without ever emitting markup from the text itself."""

from __future__ import annotations

from monitor.rules.text import prepare

Mark = tuple[int, int, str]  # start, end, what it is: "term", "figure" or "place"


def parts(
    value: str, spans: list[tuple[int, int]], facts: list[Mark] | None = None
) -> list[tuple[str, str]]:
    """Text cut into (piece, what it is, or "" for plain text) for the templates, which
    escape every piece. Matched terms win over figures and places they overlap."""
    value = prepare(value)
    marks = sorted([(a, b, "term") for a, b in spans] + (facts or []), key=lambda m: m[0])
    out, at = [], 0
    for start, end, kind in marks:
        start = max(start, at)
        while kind == "term" and end < len(value) and value[end].isalnum():
            end += 1  # `troop*` marks all of "troops"
        if start >= end:
            continue
        if start > at:
            out.append((value[at:start], ""))
        out.append((value[start:end], kind))
        at = end
    if at < len(value):
        out.append((value[at:], ""))
    return out
